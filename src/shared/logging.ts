import winston, { type LogEntry } from 'winston';
import Transport from 'winston-transport';
import type { LogLevel } from './config/sections/logging';
import { asyncStdoutWriter, streamWriter, syncStdoutWriter, type LineWriter } from './log-writers';

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
