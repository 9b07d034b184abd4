import { constants, fstatSync, readFileSync, write, writeSync } from 'node:fs';

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
 * Whether fd 1 is a pipe or socket in non-blocking mode, where a write(2)
 * takes what fits and never waits for the reader. Node's process.stdout opens
 * such an fd non-blocking (libuv's uv_pipe_open), for every process sharing
 * it; /proc says whether it is. Anything else (a file, a terminal, no /proc)
 * is treated as one that can block.
 */
function stdoutNeverBlocks(): boolean {
  try {
    const st = fstatSync(1);
    if (!st.isFIFO() && !st.isSocket()) return false;
    void process.stdout;
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'));
    return flags !== null && (parseInt(flags[1]!, 8) & constants.O_NONBLOCK) !== 0;
  } catch {
    return false;
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
 *
 * On a non-blocking pipe or socket (what a log shipper, PM2, Docker or
 * journald give us), each batch is first written at once: it cannot wait for
 * the reader, and it saves the thread-pool trip, two thread wake-ups per
 * batch, which at a few crashes per worker and millisecond is a batch per
 * crash. Whatever does not fit goes the asynchronous way.
 */
export function asyncStdoutWriter(): LineWriter {
  const writeNowFirst = stdoutNeverBlocks();
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
    let written = 0;
    if (writeNowFirst) {
      try {
        written = writeSync(1, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
          idle();
          return;
        }
      }
      if (written === buf.length) {
        next();
        return;
      }
    }
    const writeFrom = (offset: number) => {
      write(1, buf, offset, buf.length - offset, null, (err, n) => {
        if (err?.code === 'EAGAIN') setTimeout(() => writeFrom(offset), 10);
        else if (err) idle();
        else if (offset + n < buf.length) writeFrom(offset + n);
        else next();
      });
    };
    writeFrom(written);
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
