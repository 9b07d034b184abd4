import { randomUUID } from 'node:crypto';
import { crashIdDate } from '../../shared/crash-id';
import type { Bytes, CrashReport } from '../../shared/crash-report';

export interface StoredObject {
  key: string;
  data: Bytes;
}

/** JSON with object keys sorted at every level (Python's `sort_keys=True`). */
export function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

export const rawCrashKey = (crashId: string) => `v1/raw_crash/${crashIdDate(crashId)}/${crashId}`;
export const dumpNamesKey = (crashId: string) => `v1/dump_names/${crashId}`;
export const dumpKey = (crashId: string, dumpName: string, dumpField: string) =>
  `v1/${dumpName === dumpField || dumpName === '' ? 'dump' : dumpName}/${crashId}`;
export const testFileKey = () => `test/testfile-${randomUUID()}.txt`;

/**
 * The objects of one crash in the bucket layout of SPEC §2: `first` (dumps and
 * dump_names, writable in parallel) and `last` (the raw crash, whose presence
 * means the crash is complete).
 */
export function crashObjects(crash: CrashReport, dumpField: string): { first: StoredObject[]; last: StoredObject } {
  const names = [...crash.dumps.keys()].sort();
  const first: StoredObject[] = [{ key: dumpNamesKey(crash.crashId), data: Buffer.from(JSON.stringify(names)) }];
  for (const [name, data] of crash.dumps) first.push({ key: dumpKey(crash.crashId, name, dumpField), data });
  return { first, last: { key: rawCrashKey(crash.crashId), data: Buffer.from(sortedJson(crash.rawCrash)) } };
}

/** Saves a crash through a per-object `put`, honouring the raw-crash-last rule. */
export async function saveCrashObjects(
  crash: CrashReport,
  dumpField: string,
  put: (obj: StoredObject) => Promise<void>,
): Promise<void> {
  const { first, last } = crashObjects(crash, dumpField);
  await Promise.all(first.map(put));
  await put(last);
}
