import { write, writeSync } from 'node:fs';
import winston, { type LogEntry } from 'winston';
import Transport from 'winston-transport';
import type { LogLevel } from './config/sections/logging';

type Method = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry these defaults (e.g. the mozlog `type`). */
  child(defaults: { type: string }): Logger;
}

/** syslog severities used by mozlog. */
const SEVERITY: Record<Method, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const WINSTON_LEVEL: Record<LogLevel, Method> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

export interface LoggingOptions {
  level: LogLevel;
  localDevEnv: boolean;
  hostname: string;
  /** Where lines go; tests pass a stream to capture them. */
  stream?: NodeJS.WritableStream;
  /**
   * Write stdout off the event loop (workers: the request path logs). The
   * process must `await logger.flush()` before it exits.
   */
  asyncStdout?: boolean;
}

/** The logger a process creates: it owns the writer, so it is the one to flush. */
export interface RootLogger extends Logger {
  /** Resolves once every line logged so far (by it or its children) has been written. */
  flush(): Promise<void>;
}

/** Nanoseconds since the epoch, as mozlog's `Timestamp` wants. */
function nowNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

type Format = (severity: Method, type: string, message: string, fields: Record<string, unknown> | undefined) => string;

/** One JSON object per line in mozlog 2.0 format. */
function mozlogFormat(hostname: string): Format {
  return (severity, type, message, extra) => {
    const fields: Record<string, unknown> = { host_id: hostname, message };
    let stack: unknown;
    if (extra) {
      for (const k of Object.keys(extra)) {
        if (k === 'stack') stack = extra[k];
        else if (k !== 'type' && k !== 'level' && k !== 'message') fields[k] = extra[k];
      }
    }
    if (stack) fields.traceback = stack;
    return JSON.stringify({
      Timestamp: nowNs(),
      Type: type,
      Logger: 'antenna',
      Hostname: hostname,
      EnvVersion: '2.0',
      Severity: SEVERITY[severity],
      Pid: process.pid,
      Fields: fields,
    });
  };
}

/** Readable lines for LOCAL_DEV_ENV=1. */
const devFormat: Format = (severity, type, message, extra) => {
  const { stack, type: _t, level: _l, message: _m, ...rest } = extra ?? {};
  const more = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  const level = severity.toUpperCase().padEnd(5);
  return `${new Date().toISOString()} ${level} [${process.pid}] ${type}: ${message}${more}${stack ? '\n' + String(stack) : ''}`;
};

/** Where finished lines go, in order. Each logger holds its own. */
export interface LineWriter {
  write(line: string): void;
  /** Resolves once every line handed over so far has been written (or could not be). */
  flush(): Promise<void>;
}

/** Past this much unwritten log text, writing blocks rather than buffering more. */
const MAX_PENDING = 4 * 1024 * 1024;

/** How long a synchronous write waits for a reader that takes nothing before the rest is dropped. */
const STALLED_READER_MS = 5000;

/**
 * Writes all of `text` to stdout before returning. stdout is usually a
 * non-blocking pipe (Node makes it so as soon as anything touches
 * process.stdout, and workers share the primary's), where one writeSync
 * writes what fits in the pipe (64 KiB) and then fails with EAGAIN: at exit
 * the rest of the lines were lost, the last one cut in half. So this loops
 * over partial writes and waits for the reader on EAGAIN, as a blocking write
 * would, giving up only when the reader has taken nothing for
 * STALLED_READER_MS or stdout is gone (EPIPE): nothing left to tell then.
 */
function writeAllSync(text: string): void {
  const buf = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let offset = 0;
  let stalledSince = 0;
  while (offset < buf.length) {
    try {
      offset += writeSync(1, buf, offset, buf.length - offset);
      stalledSince = 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      const now = performance.now();
      if (!stalledSince) stalledSince = now;
      else if (now - stalledSince > STALLED_READER_MS) return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * Lines for stdout, written off the event loop. process.stdout to a pipe is
 * a synchronous write(2) on Linux: when the reader is slow (a log shipper, a
 * busy parent) every log line stalled the worker, health checks included.
 * Lines are gathered and written by one asynchronous fs.write at a time (on
 * libuv's thread pool), in order. Past MAX_PENDING, or at exit, the rest is
 * written synchronously (then, while an asynchronous write is still under
 * way, lines can come out of order: back-pressure beats unbounded memory).
 * One per process: two would interleave their writes to fd 1.
 *
 * sonic-boom (pino's writer) was measured in its place and cost more CPU per
 * line (docs/performance.md, "The stdout writer"), so this one stays.
 */
export function asyncStdoutWriter(): LineWriter {
  let pending = '';
  let writing = false;
  const idleWaiters: Array<() => void> = [];
  const idle = () => {
    writing = false;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };
  const next = () => {
    if (!pending) {
      idle();
      return;
    }
    writing = true;
    const buf = Buffer.from(pending);
    pending = '';
    const writeFrom = (offset: number) => {
      write(1, buf, offset, buf.length - offset, null, (err, n) => {
        if (err?.code === 'EAGAIN') setTimeout(() => writeFrom(offset), 10);
        else if (err) idle();
        else if (offset + n < buf.length) writeFrom(offset + n);
        else next();
      });
    };
    writeFrom(0);
  };
  process.on('exit', () => {
    if (pending) writeAllSync(pending);
    pending = '';
  });
  return {
    write(line) {
      pending += line + '\n';
      if (pending.length > MAX_PENDING) {
        const text = pending;
        pending = '';
        writeAllSync(text);
      } else if (!writing) {
        writing = true;
        setImmediate(next);
      }
    },
    flush: () => (writing || pending !== '' ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),
  };
}

/** winston's key for the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/**
 * The caller's fields ride in winston's info object under this key, as they
 * are: spreading them into it and taking them out again cost two copies of
 * every field per line (a fifth of an access-log line's CPU). Both formats
 * leave out `type`, `level` and `message` among them, as the spread did.
 */
const FIELDS = Symbol('fields');

interface Info {
  level: Method;
  message: string;
  type: string;
  [FIELDS]?: Record<string, unknown>;
}

/** Turns winston's info object into our line, once. */
function lineFormat(format: Format) {
  return winston.format((info) => {
    const { level, message, type, [FIELDS]: fields } = info as unknown as Info;
    (info as Record<symbol, unknown>)[MESSAGE] = format(level, type, String(message), fields);
    return info;
  })();
}

/** A winston transport (winston's documented way: extend winston-transport) that hands each finished line to a writer. */
class LineTransport extends Transport {
  constructor(private readonly writer: LineWriter) {
    super();
  }
  override log(info: Record<symbol, unknown>, next: () => void): void {
    this.writer.write(info[MESSAGE] as string);
    next();
  }
}

/**
 * Plain writes to stdout. A reader that went away (a closed pipe, a log
 * shipper restarting) makes the next write fail with EPIPE as an 'error'
 * event; unheard, it would end the process, and in the primary the whole
 * node. Lines that cannot be written are dropped: there is nowhere to say so.
 */
export function syncStdoutWriter(): LineWriter {
  if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', () => {});
  return streamWriter(process.stdout);
}

/** Each line written to a stream (tests capture lines this way); flush is immediate. */
export function streamWriter(stream: NodeJS.WritableStream): LineWriter {
  return { write: (line) => void stream.write(line + '\n'), flush: () => Promise.resolve() };
}

export function createLogger(opts: LoggingOptions): RootLogger {
  const writer = opts.stream ? streamWriter(opts.stream) : opts.asyncStdout ? asyncStdoutWriter() : syncStdoutWriter();
  const threshold = SEVERITY[WINSTON_LEVEL[opts.level]];
  const winstonLogger = winston.createLogger({
    level: WINSTON_LEVEL[opts.level],
    format: lineFormat(opts.localDevEnv ? devFormat : mozlogFormat(opts.hostname)),
    transports: [new LineTransport(writer)],
  });

  function make(type: string): Logger {
    // Levels below the threshold cost one call to a no-op, not a trip through winston.
    const at = (severity: Method) =>
      SEVERITY[severity] > threshold
        ? () => {}
        : (message: string, fields?: Record<string, unknown>) => winstonLogger.log({ level: severity, message, type, [FIELDS]: fields } as Info & LogEntry);
    return {
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      child: ({ type: t }) => make(t),
    };
  }
  return { ...make('antenna'), flush: () => writer.flush() };
}

/** A logger whose lines carry the mozlog `Type` of one component. */
export function componentLogger(logger: Logger, type: string): Logger {
  return logger.child({ type });
}
