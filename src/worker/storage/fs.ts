import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileDurably } from '../../shared/durable-file';
import type { CrashReport } from '../../shared/crash-report';
import type { CrashStorage } from './crash-storage';
import { crashObjects, testFileKey, type StoredObject } from './crash-objects';

export interface FsStorageOptions {
  root: string;
  dumpField: string;
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
    await writeFileDurably(file, obj.data);
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
