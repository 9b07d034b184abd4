import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CrashReport } from '../crash-report';
import type { CrashStorage } from './crash-storage';
import { crashObjects, testFileKey, type StoredObject } from './crash-objects';

export interface FsStorageOptions {
  root: string;
  dumpField: string;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Crashes in the bucket layout under a directory. Every file is written under
 * a temporary name, fsynced and renamed, and the directories are fsynced, so a
 * crash is durable (and a raw crash complete) before it is acknowledged.
 */
export function createFsStorage(opts: FsStorageOptions): CrashStorage {
  const root = path.resolve(opts.root);
  const knownDirs = new Set<string>();

  async function ensureDir(dir: string): Promise<void> {
    if (knownDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    knownDirs.add(dir);
  }

  /** Writes one object durably except for its directory entry; returns its directory. */
  async function writeObject(obj: StoredObject): Promise<string> {
    const file = path.join(root, obj.key);
    const dir = path.dirname(file);
    await ensureDir(dir);
    const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(obj.data);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    return dir;
  }

  async function writeAll(objects: StoredObject[]): Promise<void> {
    const dirs = await Promise.all(objects.map(writeObject));
    await Promise.all([...new Set(dirs)].map(fsyncDir));
  }

  return {
    name: 'FSCrashStorage',
    async save(crash: CrashReport) {
      const { first, last } = crashObjects(crash, opts.dumpField);
      await writeAll(first);
      await writeAll([last]);
    },
    async verify() {
      await writeAll([{ key: testFileKey(), data: Buffer.from('test') }]);
    },
    async checkHealth() {
      await mkdir(root, { recursive: true });
      await access(root, constants.W_OK);
    },
    async close() {},
  };
}
