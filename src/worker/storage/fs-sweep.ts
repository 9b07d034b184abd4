import type { Dir } from 'node:fs';
import { lstat, opendir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../shared/config';
import { isValidCrashId } from '../../shared/crash-id';
import { isTempFileName } from '../../shared/durable-file';
import { componentLogger, type Logger } from '../../shared/logging';
import type { Metrics } from '../../shared/metrics';
import { spoolEnabled } from '../../shared/spool';
import { addSweep, emptySweep, removeStaleFiles, startPeriodic, subdirectories, type Periodic, type SweepCount } from '../../shared/stale-files';
import { dumpKey, dumpNamesKey, rawCrashKey } from './crash-objects';

/**
 * Cleaning up after interrupted saves of `fs` storage (docs/backends.md).
 *
 * A save creates dumps and dump_names under their final names, writes the raw
 * crash under a temporary name next to its target and renames it last, once
 * the others are durable (a dump already there is replaced through a
 * temporary name too); the crash is answered only after that. A process
 * killed midway leaves temporary files behind, and possibly dumps (partly
 * written, even) and dump_names without a raw crash: a crash never
 * acknowledged, which nothing will complete once no save of its id can still
 * be under way.
 */
export interface FsSweepOptions {
  root: string;
  dumpField: string;
  /** Temporary files are removed once their mtime is this old. */
  tmpMinAgeMs: number;
  /** Orphaned crashes are removed once every file of theirs is this old; undefined = never. */
  orphanMinAgeMs: number | undefined;
}

export interface FsSweepResult {
  tmp: SweepCount;
  /** Orphaned crashes removed (each its dumps and dump_names), and failures. */
  orphans: SweepCount;
  /** Files those crashes had. */
  orphanFiles: number;
}

/**
 * When a dump set without a raw crash is garbage. Without the spool, only the
 * crashmover saves, and it gives up on a crash within seconds (its attempts
 * and retry sleeps): the sweep age suffices. In spool mode a crash is saved
 * again from its spool entry (same id) until the entry expires after
 * `CRASHMOVER_SPOOL_MAX_AGE`; orphans wait that long (forever when 0).
 */
export function orphanMinAgeMs(config: Config): number | undefined {
  const min = config.storage.fsSweepMinAgeSeconds * 1000;
  if (!spoolEnabled(config)) return min;
  const spoolMaxAge = config.crashmover.spoolMaxAgeSeconds * 1000;
  return spoolMaxAge === 0 ? undefined : Math.max(min, spoolMaxAge);
}

export function fsSweepOptions(config: Config): FsSweepOptions {
  return {
    root: path.resolve(config.storage.fsRoot),
    dumpField: config.breakpad.dumpField,
    tmpMinAgeMs: config.storage.fsSweepMinAgeSeconds * 1000,
    orphanMinAgeMs: orphanMinAgeMs(config),
  };
}

/** Where `prepareFile` puts temporary files: next to every target of the layout, at most two levels under `v1/`. */
async function tempFileDirs(root: string): Promise<string[]> {
  const v1 = path.join(root, 'v1');
  const kinds = await subdirectories(v1);
  const dates = await subdirectories(path.join(v1, 'raw_crash'));
  return [path.join(root, 'test'), ...kinds, ...dates];
}

const DUMP_NAME_RE = /^[A-Za-z0-9_]{1,30}$/;
/** dump_names is a short JSON list; anything larger was not written by us. */
const MAX_DUMP_NAMES_BYTES = 64 * 1024;

/** The dump names of a dump_names file, or undefined when it is not one the collector wrote. */
export function parseDumpNames(text: string): string[] | undefined {
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && DUMP_NAME_RE.test(n))) return undefined;
  return names as string[];
}

/** ENOTDIR: a component of the path is a file (e.g. an operator's placeholder where `v1/` was), so the file is not there either. */
const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw err;
  }
}

/** A regular file whose mtime is before `cutoffMs`, or missing (undefined); false otherwise. */
async function oldOrMissing(file: string, cutoffMs: number): Promise<boolean | undefined> {
  try {
    const st = await lstat(file);
    return st.isFile() && st.mtimeMs < cutoffMs;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Removes crash `id` when it is an orphan: no raw crash, and dump_names and
 * every dump it lists older than `cutoffMs` (a younger one means a save of
 * that id is under way). Dumps go first and dump_names last, so a sweep
 * interrupted midway finds the rest the next time. Returns the files removed,
 * or 0 when it is not an orphan.
 */
async function removeIfOrphan(opts: FsSweepOptions, id: string, cutoffMs: number): Promise<number> {
  const file = (key: string) => path.join(opts.root, key);
  const rawCrash = file(rawCrashKey(id));
  const dumpNames = file(dumpNamesKey(id));
  if (await exists(rawCrash)) return 0;
  const st = await lstat(dumpNames);
  if (!st.isFile() || st.mtimeMs >= cutoffMs) return 0;
  if (st.size > MAX_DUMP_NAMES_BYTES) throw new Error(`${dumpNames}: not a dump_names file the collector wrote (${st.size} bytes); left in place`);
  const names = parseDumpNames(await readFile(dumpNames, 'utf8'));
  if (!names) throw new Error(`${dumpNames}: not a JSON list of dump names; left in place`);
  const dumps = [...new Set(names.map((n) => file(dumpKey(id, n, opts.dumpField))))];
  for (const dump of dumps) if ((await oldOrMissing(dump, cutoffMs)) === false) return 0;
  // Checked again last: the raw crash is the one file whose arrival makes this crash complete.
  if (await exists(rawCrash)) return 0;
  let removed = 0;
  for (const f of [...dumps, dumpNames]) {
    try {
      await unlink(f);
      removed++;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return removed;
}

/**
 * One sweep of the tree: temporary files older than the age, by name, in the
 * directories saves write to; then orphaned crashes, decided by `v1/dump_names`
 * (one lstat of the raw crash per crash in the tree). Streams directories and
 * awaits every file operation, so the event loop is never held for more than
 * a batch of names.
 */
export async function sweepFsStorage(opts: FsSweepOptions, now = Date.now()): Promise<FsSweepResult> {
  const result: FsSweepResult = { tmp: emptySweep(), orphans: emptySweep(), orphanFiles: 0 };
  for (const dir of await tempFileDirs(opts.root)) {
    addSweep(result.tmp, await removeStaleFiles(dir, isTempFileName, now - opts.tmpMinAgeMs));
  }
  if (opts.orphanMinAgeMs === undefined) return result;
  const cutoff = now - opts.orphanMinAgeMs;
  let names: Dir;
  try {
    names = await opendir(path.join(opts.root, 'v1', 'dump_names'), { bufferSize: 256 });
  } catch (err) {
    if (isMissing(err)) return result;
    throw err;
  }
  for await (const entry of names) {
    if (!entry.isFile() || !isValidCrashId(entry.name)) continue;
    try {
      const removed = await removeIfOrphan(opts, entry.name, cutoff);
      if (removed > 0) {
        result.orphans.removed++;
        result.orphanFiles += removed;
      }
    } catch (err) {
      if (isMissing(err)) continue;
      result.orphans.failed++;
      result.orphans.firstError ??= (err as Error).message;
    }
  }
  return result;
}

/**
 * Sweeps `fs` storage now and every `CRASHMOVER_CRASHSTORAGE_FS_SWEEP_INTERVAL`
 * seconds, from the primary: one sweeper per node whatever WORKERS is, and
 * alive across worker restarts. Sweepers of several nodes sharing one root
 * are harmless to each other (a file already gone is skipped). Undefined when
 * storage is not `fs` or the interval is 0.
 */
export function startFsSweeper(config: Config, logger: Logger, metrics: Metrics): Periodic | undefined {
  if (config.storage.class !== 'fs' || config.storage.fsSweepIntervalSeconds === 0) return undefined;
  const opts = fsSweepOptions(config);
  const log = componentLogger(logger, 'antenna.storage');
  return startPeriodic(async () => {
    const started = performance.now();
    try {
      const r = await sweepFsStorage(opts);
      if (r.tmp.removed > 0) metrics.incr('collector.storage.swept.count', ['kind:tmp'], r.tmp.removed);
      if (r.orphans.removed > 0) metrics.incr('collector.storage.swept.count', ['kind:orphan'], r.orphans.removed);
      log.info(
        `storage sweep of ${opts.root}: removed ${r.tmp.removed} temporary files and ${r.orphans.removed} orphaned crashes ` +
          `(${r.orphanFiles} files) in ${Math.round(performance.now() - started)} ms`,
      );
      const failed = r.tmp.failed + r.orphans.failed;
      if (failed > 0) log.warn(`storage sweep: ${failed} files could not be removed; first: ${r.tmp.firstError ?? r.orphans.firstError}`);
    } catch (err) {
      log.error(
        `storage sweep of ${opts.root} failed: ${(err as Error).message}; check that CRASHMOVER_CRASHSTORAGE_FS_ROOT is a directory this user can read and write`,
      );
    }
  }, config.storage.fsSweepIntervalSeconds * 1000);
}
