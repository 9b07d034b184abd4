import { constants } from 'node:fs';
import { access, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DirSyncer } from '../../shared/dir-syncer';
import { createFileDurably, prepareFile, type PreparedFile } from '../../shared/durable-file';
import { SyncBatch } from '../../shared/group-commit';
import type { CrashReport } from '../../shared/crash-report';
import type { CrashStorage } from './crash-storage';
import { crashObjects, dumpKey, dumpNamesKey, rawCrashKey, testFileKey, type StoredObject } from './crash-objects';

export interface FsStorageOptions {
  root: string;
  dumpField: string;
  /** Group-commit window in µs for file and directory fsyncs (group-commit.ts); 0 or absent = none. */
  syncWindowUs?: number;
  /** Files up to this many bytes are created, written and closed on the event loop (durable-file.ts); 0 or absent = none. */
  inlineMaxBytes?: number;
}

const MAX_KNOWN_DIRS = 10_000;

/** A file of a crash under its final name, and whether this save created it (and so removes it when the save fails). */
interface PlacedFile {
  file: string;
  dir: string;
  created: boolean;
}

/** Directories made once, so a save costs no mkdir; bounded, since dump names come from clients. */
class MadeDirs {
  private readonly known = new Set<string>();

  constructor(private readonly root: string) {}

  /** Runs `write` for `key`'s file, making its directory first (once per directory), and again when the directory went away. */
  async inDir<T>(key: string, write: (file: string, dir: string) => Promise<T>): Promise<T> {
    const file = path.join(this.root, key);
    const dir = path.dirname(file);
    if (!this.known.has(dir)) await this.make(dir);
    try {
      return await write(file, dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory went away since we made it (a retention job, an operator): make it again, once.
      this.known.delete(dir);
      await this.make(dir);
      return await write(file, dir);
    }
  }

  private async make(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    if (this.known.size >= MAX_KNOWN_DIRS) this.known.clear();
    this.known.add(dir);
  }
}

/**
 * Crashes in the bucket layout under a directory, each durable (files and
 * directories fsynced) before it is acknowledged, the raw crash last: a raw
 * crash present means the crash is complete (SPEC §2).
 *
 * The dumps and dump_names are created under their final names, written and
 * fsynced, their directories fsynced as soon as they have the names (beside
 * the writes); the raw crash is written and fsynced meanwhile under a
 * temporary name. Only once all that is done is the raw crash renamed into
 * place and its directory fsynced. Two journal commits in a row, the minimum
 * with the raw crash last. A dump without its raw crash (a save killed or
 * failed midway) is an orphan nobody reads, as a failed raw-crash upload
 * leaves in GCS or S3; the raw crash is never seen partly written.
 */
export function createFsStorage(opts: FsStorageOptions): CrashStorage {
  const root = path.resolve(opts.root);
  const made = new MadeDirs(root);
  const dirs = new DirSyncer(32, { windowUs: opts.syncWindowUs ?? 0 });
  const syncBatch = new SyncBatch(opts.syncWindowUs ?? 0);
  const writing = { syncBatch, inlineMaxBytes: opts.inlineMaxBytes ?? 0 };

  /** Written and fsynced under a temporary name, to be renamed into place. */
  const prepare = (obj: StoredObject): Promise<PreparedFile & { dir: string }> =>
    made.inDir(obj.key, async (file, dir) => ({ ...(await prepareFile(file, obj.data, dir, writing)), dir }));

  /**
   * Created, written and fsynced under its final name, its directory fsynced
   * once it has the name (beside the write). One already there (left by an
   * earlier attempt, or a crash saved again) is replaced by a rename instead,
   * never truncated: its raw crash may be present, and then it is read; its
   * directory is fsynced after the rename.
   */
  const place = (obj: StoredObject): Promise<PlacedFile> =>
    made.inDir(obj.key, async (file, dir) => {
      try {
        await createFileDurably(file, obj.data, { ...writing, onCreated: () => dirs.sync(dir) });
        return { file, dir, created: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        await (await prepareFile(file, obj.data, dir, writing)).commit();
        await dirs.sync(dir);
        return { file, dir, created: false };
      }
    });

  /**
   * `first` in place and durable, then `last` renamed into place: two journal
   * commits in a row (the files with their new names, then the last one's
   * name). `last` is written and fsynced beside `first`, under a temporary
   * name. A failure before `last` is renamed removes what this save created.
   */
  async function writeAll(first: StoredObject[], last?: StoredObject): Promise<void> {
    const [placing, preparing] = await Promise.all([Promise.allSettled(first.map(place)), Promise.allSettled(last ? [prepare(last)] : [])]);
    const placed = placing.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lastFile = preparing[0]?.status === 'fulfilled' ? preparing[0].value : undefined;
    const failed = [...placing, ...preparing].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all([lastFile?.discard(), ...placed.filter((f) => f.created).map((f) => unlink(f.file).catch(() => {}))]);
      throw failed.reason;
    }
    if (lastFile) {
      await lastFile.commit();
      await dirs.sync(lastFile.dir);
    }
  }

  return {
    name: 'FSCrashStorage',
    async save(crash: CrashReport) {
      const { first, last } = crashObjects(crash, opts.dumpField);
      await writeAll(first, last);
    },
    async verify() {
      // Under a temporary name and renamed, like a raw crash: a test file is complete when present.
      await writeAll([], { key: testFileKey(), data: Buffer.from('test') });
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
