import path from 'node:path';
import { isTempFileName } from '../durable-file';

/**
 * The spool on disk:
 *
 *   <root>/tmp/            entries being written (never acknowledged; discarded at start-up,
 *                          and swept while running once older than CRASHMOVER_SPOOL_SWEEP_MIN_AGE)
 *   <root>/ready/          complete entries waiting for any worker
 *   <root>/claimed/<pid>/  entries one worker is moving (claimed by rename, so one mover each)
 *   <root>/corrupt/        entries that could not be decoded (kept for inspection, never swept)
 *
 * An entry is one file named `<spooled at ms>-<bytes>-<crash id>.<state>`:
 * state `crash` still needs saving and publishing, `saved` only publishing.
 * The name carries what the primary needs for its accounting, so a directory
 * listing (no reads, no stats) gives the count, the bytes and the oldest entry.
 */
export interface SpoolPaths {
  root: string;
  tmp: string;
  ready: string;
  claimed: string;
  claimedBy(pid: number): string;
}

export function spoolPaths(root: string): SpoolPaths {
  const r = path.resolve(root);
  return {
    root: r,
    tmp: path.join(r, 'tmp'),
    ready: path.join(r, 'ready'),
    claimed: path.join(r, 'claimed'),
    claimedBy: (pid) => path.join(r, 'claimed', String(pid)),
  };
}

export type EntryState = 'crash' | 'saved';

export interface EntryName {
  spooledAt: number;
  bytes: number;
  crashId: string;
  state: EntryState;
}

export const entryFileName = (e: EntryName) => `${e.spooledAt}-${e.bytes}-${e.crashId}.${e.state}`;

const NAME_RE = /^(\d+)-(\d+)-([0-9a-f-]{36})\.(crash|saved)$/;

export function parseEntryName(name: string): EntryName | undefined {
  const m = NAME_RE.exec(name);
  if (!m) return undefined;
  return { spooledAt: Number(m[1]), bytes: Number(m[2]), crashId: m[3]!, state: m[4] as EntryState };
}

export const withState = (name: string, state: EntryState) => name.replace(/\.(crash|saved)$/, `.${state}`);

const PROBE_RE = /^\.probe-\d+$/;

/**
 * What a killed writer leaves in `tmp/`: an entry's temporary file
 * (`prepareFile`'s name) or a worker's write probe (`.probe-<pid>`).
 */
export const isSpoolTempName = (name: string): boolean => isTempFileName(name) || PROBE_RE.test(name);
