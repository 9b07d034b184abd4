import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Bytes } from './crash-report';
import { windowElapsed, type SyncBatch } from './group-commit';

/** Makes a directory's entries (a rename, a new file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * writev may write fewer bytes than asked (a disk that fills up mid-write
 * does exactly that) without failing; keep going until everything is
 * written or the next call fails.
 */
async function writeAll(fh: FileHandle, buffers: readonly Buffer[]): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await fh.writev(pending);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        // Stryker disable next-line ConditionalExpression,EqualityOperator: b.subarray(0) holds the same bytes as b; the test only saves a copy
        rest.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/**
 * The temporary name `prepareFile` writes under: `.<target's name>.<12 hex>.tmp`.
 * A process killed between the write and the rename leaves a file so named
 * behind; `isTempFileName` is how the sweepers recognise one (and nothing else).
 */
export const tempFileName = (target: string): string => `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`;

const TEMP_NAME_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export const isTempFileName = (name: string): boolean => TEMP_NAME_RE.test(name);

/** A file written and fsynced under a temporary name, not yet in place. */
export interface PreparedFile {
  /** Renames it to its target; the caller fsyncs the target's directory. */
  commit(): Promise<void>;
  /** Removes the temporary file (when the write as a whole is abandoned). */
  discard(): Promise<void>;
}

export interface PrepareOptions {
  /** Issues the file's fsync with others of the same window (group commit); default: at once. */
  syncBatch?: SyncBatch;
}

/**
 * Writes `data` to a temporary file in `tmpDir` (default: the target's
 * directory) and fsyncs it. A failure leaves no file behind.
 */
export async function prepareFile(target: string, data: Bytes, tmpDir = path.dirname(target), opts: PrepareOptions = {}): Promise<PreparedFile> {
  const tmp = path.join(tmpDir, tempFileName(target));
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await writeAll(fh, Buffer.isBuffer(data) ? [data] : data);
    await (opts.syncBatch ? opts.syncBatch.run(() => fh.sync()) : fh.sync());
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  const discard = () => unlink(tmp).catch(() => {});
  return {
    async commit() {
      try {
        await rename(tmp, target);
      } catch (err) {
        await discard();
        throw err;
      }
    },
    discard,
  };
}

export interface CreateOptions extends PrepareOptions {
  /**
   * Runs once the file has its name, beside its write and fsync, and is
   * awaited with them: the directory's fsync, which needs only the name, so
   * that it is not one more step in a row after the file's.
   */
  onCreated?: () => Promise<void>;
}

/**
 * Creates `target` under its own name (O_CREAT|O_EXCL|O_WRONLY), writes
 * `data` and fsyncs it: no temporary name, so no rename for a later journal
 * commit to make durable. The name is made durable by an fsync of the
 * directory after the create (`onCreated`, or the caller afterwards). Only
 * for a file nobody reads until another file says it is complete (a dump
 * before its raw crash): a process killed midway leaves it partly written
 * under its final name.
 *
 * Exclusive: EEXIST when `target` exists, so a file that may be complete and
 * read is never truncated; replace one with `prepareFile` + commit. A failure
 * after the create removes the file.
 */
export async function createFileDurably(target: string, data: Bytes, opts: CreateOptions = {}): Promise<void> {
  const fh = await open(target, 'wx', 0o644);
  const write = async () => {
    await writeAll(fh, Buffer.isBuffer(data) ? [data] : data);
    await (opts.syncBatch ? opts.syncBatch.run(() => fh.sync()) : fh.sync());
  };
  const failed = (await Promise.allSettled([write(), opts.onCreated?.()])).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await fh.close().catch(() => {});
    await unlink(target).catch(() => {});
    throw failed.reason;
  }
  await fh.close();
}

/**
 * Writes `data` to a temporary file in `tmpDir` (default: the target's
 * directory), fsyncs it and renames it to `target`. The caller fsyncs the
 * target's directory (once for many files) to make the name durable. A
 * failure leaves no partial file behind under either name.
 */
export async function writeFileDurably(target: string, data: Bytes, tmpDir = path.dirname(target)): Promise<void> {
  await (await prepareFile(target, data, tmpDir)).commit();
}

export interface DirSyncerOptions {
  /**
   * How long (µs) an idle directory waits before its fsync starts, so that
   * renames finishing close together share it (see group-commit.ts). 0 = start
   * at once.
   */
  windowUs?: number;
}

/**
 * fsyncs of directories that stay open and are shared: a caller whose rename
 * is done waits for an fsync that starts after its call, and every caller
 * that arrives while one runs shares the next. Under load that is one fsync
 * per directory per round instead of one (plus an open and a close) per file.
 */
export class DirSyncer {
  private readonly dirs = new Map<string, { sync: () => Promise<void>; close: () => Promise<void> }>();

  constructor(
    private readonly maxOpen = 32,
    private readonly opts: DirSyncerOptions = {},
  ) {}

  sync(dir: string): Promise<void> {
    let entry = this.dirs.get(dir);
    if (!entry) {
      if (this.dirs.size >= this.maxOpen) {
        const [oldest, old] = this.dirs.entries().next().value!;
        this.dirs.delete(oldest);
        void old.close();
      }
      entry = dirSyncer(dir, this.opts.windowUs ?? 0);
      this.dirs.set(dir, entry);
    }
    return entry.sync();
  }

  /** Closes every directory handle. */
  async close(): Promise<void> {
    const all = [...this.dirs.values()];
    this.dirs.clear();
    await Promise.all(all.map((e) => e.close()));
  }
}

/** A directory handle and the directory it opened, to notice when another has taken its name. */
interface OpenDir {
  fh: FileHandle;
  dev: number;
  ino: number;
}

async function openDir(dir: string): Promise<OpenDir> {
  const fh = await open(dir, 'r');
  try {
    const { dev, ino } = await fh.stat();
    return { fh, dev, ino };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/**
 * Whether a kept handle is still the directory under `dir`: one removed and
 * made again (a retention job, an operator, another worker) has a new inode,
 * and an fsync of the old one makes nothing under the name durable.
 */
async function isCurrent(dir: string, h: Promise<OpenDir>): Promise<boolean> {
  // Asynchronous, though a statSync would save a thread-pool trip: on a network
  // filesystem a stat waits for the server, and the event loop must not.
  const [d, now] = await Promise.all([h, stat(dir).catch(() => undefined)]);
  return now !== undefined && now.ino === d.ino && now.dev === d.dev;
}

function dirSyncer(dir: string, windowUs: number): { sync: () => Promise<void>; close: () => Promise<void> } {
  let handle: Promise<OpenDir> | undefined;
  let closed = false;
  const drop = async (h: Promise<OpenDir>) => {
    if (handle === h) handle = undefined;
    await h.then((d) => d.fh.close()).catch(() => {});
  };
  const syncWith = async (h: Promise<OpenDir>) => {
    if (!closed) handle = h;
    try {
      await (await h).fh.sync();
    } catch (err) {
      // Start afresh next time (the directory may have been replaced, or the disk recovered).
      await drop(h);
      throw err;
    }
    if (closed) await drop(h);
  };
  const once = async () => {
    const kept = handle;
    if (!kept) return syncWith(openDir(dir));
    // The check runs beside the fsync, not before it: a stat ahead of every
    // round lengthened each round by a thread-pool trip, and rounds are serial.
    const [, stillCurrent] = await Promise.all([
      syncWith(kept),
      // Stryker disable next-line ArrowFunction: undefined and false are both "not current" here
      isCurrent(dir, kept).catch(() => false),
    ]);
    if (stillCurrent) return;
    // Replaced under us: the fsync above went to the old directory. Sync the one under the name.
    await drop(kept);
    await syncWith(openDir(dir));
  };
  let running: Promise<void> | undefined;
  /** The next round, not started yet: a caller joining it renamed before its fsync starts. */
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const p: Promise<void> = once().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return {
    sync() {
      if (queued) return queued;
      if (!running) {
        if (windowUs <= 0) return start();
        queued = windowElapsed(windowUs).then(() => {
          queued = undefined;
          return start();
        });
        return queued;
      }
      queued = running
        .catch(() => {})
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    async close() {
      closed = true;
      await Promise.all([running, queued].map((p) => p?.catch(() => {})));
      if (handle) await drop(handle);
    },
  };
}
