import type { Dir } from 'node:fs';
import { lstat, opendir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** What one sweep did: files removed, and files it could not remove (with the first reason). */
export interface SweepCount {
  removed: number;
  failed: number;
  firstError?: string;
}

export const emptySweep = (): SweepCount => ({ removed: 0, failed: 0 });

export function addSweep(into: SweepCount, more: SweepCount): SweepCount {
  into.removed += more.removed;
  into.failed += more.failed;
  if (into.firstError === undefined && more.firstError !== undefined) into.firstError = more.firstError;
  return into;
}

const isGone = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/** Reads a directory's entries in batches of this many per turn of the event loop. */
const BATCH = 256;

/**
 * Removes the regular files directly in `dir` whose name `matches` and whose
 * mtime is before `cutoffMs`. The directory is streamed (one batch of names
 * per turn of the event loop) and only matching names are stat'ed, so a
 * directory of a million crashes costs its listing and nothing more.
 *
 * Symlinks are never followed nor removed (lstat, and entries must be regular
 * files); subdirectories are not entered. A missing directory has nothing to
 * sweep; a file that vanished meanwhile (another sweeper, its writer) is not
 * counted; any other failure is counted and the sweep goes on.
 */
export async function removeStaleFiles(dir: string, matches: (name: string) => boolean, cutoffMs: number): Promise<SweepCount> {
  const count = emptySweep();
  let handle: Dir;
  try {
    handle = await opendir(dir, { bufferSize: BATCH });
  } catch (err) {
    if (isGone(err)) return count;
    throw err;
  }
  for await (const entry of handle) {
    if (!entry.isFile() || !matches(entry.name)) continue;
    const file = path.join(dir, entry.name);
    try {
      const st = await lstat(file);
      if (!st.isFile() || st.mtimeMs >= cutoffMs) continue;
      await unlink(file);
      count.removed++;
    } catch (err) {
      if (isGone(err)) continue;
      count.failed++;
      count.firstError ??= `${file}: ${(err as Error).message}`;
    }
  }
  return count;
}

/** The real subdirectories of `dir` (symlinks excluded), as full paths; none when it does not exist. */
export async function subdirectories(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch (err) {
    if (isGone(err)) return [];
    throw err;
  }
}

export interface Periodic {
  /** Resolves when the run in progress (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `run` now (unless `now: false`) and then every `intervalMs` (0 = no
 * repeats), never two runs at once: a run still going when the next is due
 * makes that one skip. The timer does not keep the process alive. `run`
 * handles its own errors.
 */
export function startPeriodic(run: () => Promise<void>, intervalMs: number, { now = true } = {}): Periodic {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= run().finally(() => (running = undefined));
  };
  if (now) tick();
  const timer = intervalMs > 0 ? setInterval(tick, intervalMs).unref() : undefined;
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
