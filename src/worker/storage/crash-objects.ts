import { randomUUID } from 'node:crypto';
import { crashIdDate } from '../../shared/crash-id';
import { collidingDumpName, storedDumpName, type Bytes, type CrashReport } from '../../shared/crash-report';
import { KindedError } from '../../shared/failure';
import { stringifyJson } from '../../shared/json-safe';

export interface StoredObject {
  key: string;
  data: Bytes;
}

/** JSON with object keys sorted at every level (Python's `sort_keys=True`), at any depth. */
export const sortedJson = (value: unknown): string => stringifyJson(value, { sortKeys: true });

export const rawCrashKey = (crashId: string) => `v1/raw_crash/${crashIdDate(crashId)}/${crashId}`;
export const dumpNamesKey = (crashId: string) => `v1/dump_names/${crashId}`;
export const dumpKey = (crashId: string, dumpName: string, dumpField: string) => `v1/${storedDumpName(dumpName, dumpField)}/${crashId}`;
export const testFileKey = () => `test/testfile-${randomUUID()}.txt`;

/**
 * The objects of one crash in the bucket layout of SPEC §2: `first` (dumps and
 * dump_names, writable in parallel) and `last` (the raw crash, whose presence
 * means the crash is complete).
 *
 * Throws a `permanent` KindedError for a crash that can never be stored (no
 * retry changes that): two dumps with one key, whose parallel writes would
 * race and leave bytes that disagree with `dump_checksums`, or a raw crash
 * that cannot be written as JSON.
 */
export function crashObjects(crash: CrashReport, dumpField: string): { first: StoredObject[]; last: StoredObject } {
  const colliding = collidingDumpName(crash.dumps.keys(), dumpField);
  if (colliding !== undefined) {
    throw new KindedError(
      'permanent',
      'invalid_dump_name',
      `${crash.crashId}: dump ${colliding} would be stored under the same key as another dump of the crash`,
    );
  }
  let rawCrash: string;
  try {
    rawCrash = sortedJson(crash.rawCrash);
  } catch (err) {
    throw new KindedError('permanent', 'unserializable', `${crash.crashId}: the raw crash cannot be written as JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const names = [...crash.dumps.keys()].sort();
  const first: StoredObject[] = [{ key: dumpNamesKey(crash.crashId), data: Buffer.from(JSON.stringify(names)) }];
  for (const [name, data] of crash.dumps) first.push({ key: dumpKey(crash.crashId, name, dumpField), data });
  return { first, last: { key: rawCrashKey(crash.crashId), data: Buffer.from(rawCrash) } };
}

/** Saves a crash through a per-object `put`, honouring the raw-crash-last rule. */
export async function saveCrashObjects(crash: CrashReport, dumpField: string, put: (obj: StoredObject) => Promise<void>): Promise<void> {
  const { first, last } = crashObjects(crash, dumpField);
  await Promise.all(first.map(put));
  await put(last);
}
