import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

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
        rest.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Writes `data` to a temporary file in `tmpDir` (default: the target's
 * directory), fsyncs it and renames it to `target`. The caller fsyncs the
 * target's directory (once for many files) to make the name durable. A
 * failure leaves no partial file behind under either name.
 */
export async function writeFileDurably(target: string, data: Buffer | readonly Buffer[], tmpDir = path.dirname(target)): Promise<void> {
  const tmp = path.join(tmpDir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await writeAll(fh, Buffer.isBuffer(data) ? [data] : data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
