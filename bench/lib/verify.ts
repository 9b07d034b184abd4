import { readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';

export interface Verification {
  acknowledged: number;
  /** Acknowledged crashes with raw_crash, dump_names and a dump of the right size on disk. */
  complete: number;
  /** Ids of crashes acknowledged but missing (first few). */
  missing: string[];
}

async function size(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/**
 * Checks every acknowledged crash id against the collector's fs layout:
 * v1/raw_crash/<YYYYMMDD>/<id>, v1/dump_names/<id> and v1/dump/<id> of
 * `dumpBytes` (the dump sent; raw-layout stores the whole body there).
 */
export async function verifyFsCrashes(root: string, ids: readonly string[], dumpBytes: number): Promise<Verification> {
  const missing: string[] = [];
  let complete = 0;
  const BATCH = 64;
  for (let i = 0; i < ids.length; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map(async (id) => {
        const [raw, names, dump] = await Promise.all([
          size(path.join(root, 'v1', 'raw_crash', `20${id.slice(-6)}`, id)),
          size(path.join(root, 'v1', 'dump_names', id)),
          size(path.join(root, 'v1', 'dump', id)),
        ]);
        if (raw !== undefined && raw > 0 && names !== undefined && dump === dumpBytes) complete++;
        else if (missing.length < 5) missing.push(id);
      }),
    );
  }
  return { acknowledged: ids.length, complete, missing };
}

/** raw-durable: one file per acknowledged id, named by the id, in `dir`. */
export async function verifyDurableFiles(dir: string, ids: readonly string[], bodyBytes: number): Promise<Verification> {
  const missing: string[] = [];
  let complete = 0;
  const BATCH = 64;
  for (let i = 0; i < ids.length; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map(async (id) => {
        if ((await size(path.join(dir, id))) === bodyBytes) complete++;
        else if (missing.length < 5) missing.push(id);
      }),
    );
  }
  return { acknowledged: ids.length, complete, missing };
}

/**
 * Frees the disk space of a run's files before the next run: each file under
 * `root` is truncated to nothing, and files and directories stay (the
 * collector remembers which directories it created and would not re-create
 * them); the servers' directories go when the bench ends (servers.ts).
 *
 * Not deleted: on an ext4 without a journal (this machine's), creating a file
 * skips every inode of its group deleted in the last 60 s (360 s while the
 * inode table block is dirty), reading the inode table for each. Deleting
 * the ~16,000 files of one fs run made that scan ~25 % of the CPU of both
 * durable servers' workers in the runs after it (perf, 400 KB, 16
 * connections): the bench measured its own clean-up, three times over for
 * fs, which creates three files per crash.
 */
export async function emptyFiles(root: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.filter((e) => e.isDirectory())) await emptyFiles(path.join(root, e.name));
  const files = entries.filter((e) => e.isFile());
  for (let i = 0; i < files.length; i += 256) {
    await Promise.all(files.slice(i, i + 256).map((e) => truncate(path.join(root, e.name), 0).catch(() => undefined)));
  }
}
