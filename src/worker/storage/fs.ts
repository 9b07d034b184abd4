import { constants } from 'node:fs';
import { access, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DirSyncer, prepareFile, type PreparedFile } from '../../shared/durable-file';
import { SyncBatch } from '../../shared/group-commit';
import type { CrashReport } from '../../shared/crash-report';
import type { CrashStorage } from './crash-storage';
import { crashObjects, dumpKey, dumpNamesKey, rawCrashKey, testFileKey, type StoredObject } from './crash-objects';

export interface FsStorageOptions {
  root: string;
  dumpField: string;
  /** Group-commit window in µs for file and directory fsyncs (group-commit.ts); 0 or absent = none. */
  syncWindowUs?: number;
}

const MAX_KNOWN_DIRS = 10_000;

/**
 * Crashes in the bucket layout under a directory. Every file is written under
 * a temporary name, fsynced and renamed, and the directories are fsynced, so a
 * crash is durable (and a raw crash complete) before it is acknowledged.
 *
 * The files of a crash, the raw crash's included, are written and fsynced in
 * parallel; only the renames are ordered: dumps and dump_names are renamed
 * and their directories fsynced before the raw crash gets its name.
 */
export function createFsStorage(opts: FsStorageOptions): CrashStorage {
  const root = path.resolve(opts.root);
  /** Directories made once, so a save costs no mkdir; bounded, since dump names come from clients. */
  const knownDirs = new Set<string>();
  const dirs = new DirSyncer(32, { windowUs: opts.syncWindowUs ?? 0 });
  const syncBatch = new SyncBatch(opts.syncWindowUs ?? 0);

  async function ensureDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (knownDirs.size >= MAX_KNOWN_DIRS) knownDirs.clear();
    knownDirs.add(dir);
  }

  async function prepare(obj: StoredObject): Promise<PreparedFile & { dir: string }> {
    const file = path.join(root, obj.key);
    const dir = path.dirname(file);
    if (!knownDirs.has(dir)) await ensureDir(dir);
    try {
      return { ...(await prepareFile(file, obj.data, dir, { syncBatch })), dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory went away since we made it (a retention job, an operator): make it again, once.
      knownDirs.delete(dir);
      await ensureDir(dir);
      return { ...(await prepareFile(file, obj.data, dir, { syncBatch })), dir };
    }
  }

  async function commit(files: Array<PreparedFile & { dir: string }>): Promise<void> {
    await Promise.all(files.map((f) => f.commit()));
    await Promise.all([...new Set(files.map((f) => f.dir))].map((d) => dirs.sync(d)));
  }

  async function writeAll(first: StoredObject[], last?: StoredObject): Promise<void> {
    const all = last ? [...first, last] : first;
    const results = await Promise.allSettled(all.map(prepare));
    const prepared = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(prepared.map((f) => f.discard()));
      throw failed.reason;
    }
    const lastFile = last ? prepared.pop() : undefined;
    try {
      await commit(prepared);
    } catch (err) {
      await lastFile?.discard();
      throw err;
    }
    if (lastFile) await commit([lastFile]);
  }

  return {
    name: 'FSCrashStorage',
    async save(crash: CrashReport) {
      const { first, last } = crashObjects(crash, opts.dumpField);
      await writeAll(first, last);
    },
    async verify() {
      await writeAll([{ key: testFileKey(), data: Buffer.from('test') }]);
    },
    checkHealth: () => checkFsHealth(root, opts.dumpField),
    async close() {
      await dirs.close();
    },
  };
}

/**
 * What a save needs, not just the root: the directories of the main dump,
 * dump_names and today's raw crashes, each a directory we may write in, and a
 * disk that takes a durable write.
 */
async function checkFsHealth(root: string, dumpField: string): Promise<void> {
  const probeId = `00000000-0000-0000-0000-000000${utcYymmdd()}`;
  const dirs = [dumpKey(probeId, dumpField, dumpField), dumpNamesKey(probeId), rawCrashKey(probeId)].map((k) => path.dirname(path.join(root, k)));
  for (const dir of dirs) {
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new Error(`cannot save under ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const probe = path.join(root, 'test', `.health-probe-${process.pid}`);
  try {
    await mkdir(path.dirname(probe), { recursive: true });
    const fh = await open(probe, 'w');
    try {
      await fh.writeFile('ok');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    throw new Error(`cannot write durably under ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Today (UTC) as YYMMDD, the date digits of a crash id made now. */
function utcYymmdd(): string {
  return new Date().toISOString().slice(2, 10).replace(/-/g, '');
}
