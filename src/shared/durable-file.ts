import { randomBytes } from 'node:crypto';
import { closeSync, fsync, openSync, writevSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, type Bytes } from './crash-report';
import type { SyncBatch } from './group-commit';

/** Makes a directory's entries (a rename, a new file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A file just created, as writing it durably needs it: on the event loop or through libuv's thread pool. */
interface NewFile {
  /** Bytes written, maybe fewer than given. */
  writev(buffers: Buffer[]): Promise<number>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates `file` exclusively (O_CREAT|O_EXCL|O_WRONLY, mode 0644). `inline`:
 * the open, writes and close are synchronous calls on the event loop, and only
 * the fsync goes to the thread pool. On a local disk each of those calls takes
 * a few µs to 25 µs of kernel time, while a thread-pool trip costs the event
 * loop 10–30 µs of CPU on its own (the hand-off and wake-ups, measured on the
 * bench machine); at 4 KB that took fs storage from 1.7–2.1 to 1.1–1.4 CPU ms
 * per crash. Only up to a limit (`inlineMaxBytes`, at most 1 MiB): a write
 * that large holds every other request of the worker, and writes beyond 1 MiB
 * on the event loop measured slower than through the pool.
 */
async function createNewFile(file: string, inline: boolean): Promise<NewFile> {
  if (inline) {
    const fd = openSync(file, 'wx', 0o644);
    return {
      writev: async (buffers) => writevSync(fd, buffers),
      sync: () => new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve()))),
      close: async () => closeSync(fd),
    };
  }
  const fh = await open(file, 'wx', 0o644);
  return {
    writev: async (buffers) => (await fh.writev(buffers)).bytesWritten,
    sync: () => fh.sync(),
    close: () => fh.close(),
  };
}

/** Whether `data` is small enough to be written with synchronous calls on the event loop (see `createNewFile`). */
function writesInline(data: Bytes, { inlineMaxBytes = 0 }: PrepareOptions): boolean {
  return inlineMaxBytes > 0 && byteLength(data) <= inlineMaxBytes;
}

/**
 * writev may write fewer bytes than asked (a disk that fills up mid-write
 * does exactly that) without failing; keep going until everything is
 * written or the next call fails.
 */
async function writeAll(fh: NewFile, buffers: readonly Buffer[]): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let bytesWritten = await fh.writev(pending);
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
  /**
   * A file of at most this many bytes is created, written and closed with
   * synchronous calls on the event loop, its fsync still in the thread pool
   * (see `createNewFile`). 0 (the default): every call in the thread pool.
   */
  inlineMaxBytes?: number;
}

/**
 * Writes `data` to a temporary file in `tmpDir` (default: the target's
 * directory) and fsyncs it. A failure leaves no file behind.
 */
export async function prepareFile(target: string, data: Bytes, tmpDir = path.dirname(target), opts: PrepareOptions = {}): Promise<PreparedFile> {
  const tmp = path.join(tmpDir, tempFileName(target));
  const fh = await createNewFile(tmp, writesInline(data, opts));
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
  const fh = await createNewFile(target, writesInline(data, opts));
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
