/**
 * Is an acknowledged crash in storage, whole? SPEC §2: the raw crash (written
 * last) under v1/raw_crash/<date>/<id>, dump_names, every dump byte for byte
 * under v1/<name>/<id> (`upload_file_minidump` as `dump`), and
 * `metadata.dump_checksums` the sha256 of each stored dump.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExpectedCrash } from './corpus';

export type Read = (key: string) => Promise<Buffer | undefined>;

/** Every file fs storage may hold (SPEC §2, and the start-up test file): anything else escaped the layout. */
export const STORED_LAYOUT =
  /^(v1\/(raw_crash\/\d{8}|[A-Za-z0-9_]{1,30})\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|test\/testfile-[0-9a-f-]{36}\.txt)$/;

export const rawCrashKey = (id: string) => `v1/raw_crash/20${id.slice(-6)}/${id}`;
export const dumpKey = (name: string, id: string) => `v1/${name === 'upload_file_minidump' ? 'dump' : name}/${id}`;

/** Reads keys from an fs storage root (undefined when the file is missing). */
export function fsReader(root: string): Read {
  return (key) => readFile(path.join(root, key)).catch(() => undefined);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What is wrong with crash `id` in storage; empty when it is all there. The first problem of a missing crash is always `missing raw crash`. */
export async function crashProblems(read: Read, id: string, expect: ExpectedCrash): Promise<string[]> {
  if (expect.id !== undefined && expect.id !== id) return [`answered id ${id}, but the request carried the authorized uuid ${expect.id}`];
  const rawBytes = await read(rawCrashKey(id));
  if (!rawBytes) return ['missing raw crash'];
  const problems: string[] = [];
  let raw: { uuid?: string; ChaosCase?: string; metadata?: { dump_checksums?: Record<string, string> } };
  try {
    raw = JSON.parse(rawBytes.toString('utf8')) as typeof raw;
  } catch {
    return ['raw crash is not JSON'];
  }
  if (raw.uuid !== id) problems.push(`raw crash uuid ${raw.uuid}`);
  if (expect.marker !== undefined && raw.ChaosCase !== expect.marker)
    problems.push(`raw crash of another request (ChaosCase ${raw.ChaosCase}, sent ${expect.marker})`);
  const namesBytes = await read(`v1/dump_names/${id}`);
  let names: string[] = [];
  try {
    names = JSON.parse(namesBytes?.toString('utf8') ?? 'null') as string[];
    if (!Array.isArray(names)) throw new Error();
  } catch {
    return [...problems, `dump_names ${namesBytes ? 'not a JSON list' : 'missing'}`];
  }
  const checksums = raw.metadata?.dump_checksums ?? {};
  if (expect.dumps !== 'consistent') {
    const want = [...expect.dumps.keys()].sort();
    if (JSON.stringify([...names].sort()) !== JSON.stringify(want)) problems.push(`dump_names ${JSON.stringify(names)}, sent ${JSON.stringify(want)}`);
  }
  if (JSON.stringify(Object.keys(checksums).sort()) !== JSON.stringify([...names].sort()))
    problems.push(`dump_checksums for ${JSON.stringify(Object.keys(checksums).sort())}, dump_names ${JSON.stringify(names)}`);
  for (const name of names) {
    const stored = await read(dumpKey(name, id));
    if (!stored) {
      problems.push(`${dumpKey(name, id)} missing`);
      continue;
    }
    if (checksums[name] !== sha256(stored))
      problems.push(`${dumpKey(name, id)}: dump_checksums says ${checksums[name]}, stored bytes hash to ${sha256(stored)}`);
    if (expect.dumps !== 'consistent') {
      const sent = expect.dumps.get(name) ?? [];
      if (!sent.some((s) => s.equals(stored)))
        problems.push(`${dumpKey(name, id)}: ${stored.length} stored bytes are not the ${sent.map((s) => s.length).join(' or ')} bytes sent`);
    }
  }
  return problems;
}

export interface Audit {
  checked: number;
  /** Acknowledged, but missing or not byte for byte. */
  lost: number;
  /** The first few, described. */
  examples: string[];
}

/** Checks every acknowledged crash; `expectOf` rebuilds what was sent (the corpus and loads are deterministic). */
export async function audit(read: Read, acked: ReadonlyArray<{ id: string; label: string }>, expectOf: (label: string) => ExpectedCrash): Promise<Audit> {
  const result: Audit = { checked: 0, lost: 0, examples: [] };
  const BATCH = 32;
  for (let i = 0; i < acked.length; i += BATCH) {
    await Promise.all(
      acked.slice(i, i + BATCH).map(async ({ id, label }) => {
        const problems = await crashProblems(read, id, expectOf(label));
        result.checked++;
        if (problems.length > 0) {
          result.lost++;
          if (result.examples.length < 8)
            result.examples.push(`${label} ${id}: ${problems[0]!.replace(/\b[0-9a-f]{64}\b/g, (h) => `${h.slice(0, 8)}…`).slice(0, 200)}`);
        }
      }),
    );
  }
  return result;
}
