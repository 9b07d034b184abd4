import { readdir, rm, stat } from 'node:fs/promises';
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
 * v1/raw_crash/<YYYYMMDD>/<id>, v1/dump_names/<id> and v1/dump/<id>, the
 * dump being exactly the bytes sent.
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
 * Deletes the files under `root` but keeps the directories: the collector
 * remembers which directories it created and would not re-create them.
 */
export async function deleteFiles(root: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.filter((e) => e.isDirectory())) await deleteFiles(path.join(root, e.name));
  const files = entries.filter((e) => !e.isDirectory());
  for (let i = 0; i < files.length; i += 256) {
    await Promise.all(files.slice(i, i + 256).map((e) => rm(path.join(root, e.name), { force: true })));
  }
}
