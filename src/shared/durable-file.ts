import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
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
 * Writes `data` to a temporary file in `tmpDir` (default: the target's
 * directory), fsyncs it and renames it to `target`. The caller fsyncs the
 * target's directory (once for many files) to make the name durable. A
 * failure leaves no partial file behind under either name.
 */
export async function writeFileDurably(target: string, data: Buffer | readonly Buffer[], tmpDir = path.dirname(target)): Promise<void> {
  const tmp = path.join(tmpDir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    if (Buffer.isBuffer(data)) await fh.writeFile(data);
    else await fh.writev(data as Buffer[]);
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
