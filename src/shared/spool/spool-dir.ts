import { statfs } from 'node:fs/promises';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SpoolLimit } from '../config/sections/crashmover';
import { removeStaleFiles, type SweepCount } from '../stale-files';
import { isSpoolTempName, parseEntryName, type SpoolPaths } from './layout';

export interface SpoolStats {
  crashes: number;
  bytes: number;
  /** Epoch ms of the oldest entry; undefined when empty. */
  oldestSpooledAt: number | undefined;
  /** Entries claimed per worker pid. */
  claimed: Record<string, number>;
  /** When the listing started (entries written after this may be missing). */
  scannedAt: number;
}

/** A directory's names; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function ensureSpoolDirs(p: SpoolPaths): Promise<void> {
  await Promise.all([mkdir(p.tmp, { recursive: true }), mkdir(p.ready, { recursive: true }), mkdir(p.claimed, { recursive: true })]);
}

/** Counts entries from file names alone (no reads): cheap enough for every heartbeat. */
export async function scanSpool(p: SpoolPaths): Promise<SpoolStats> {
  const scannedAt = Date.now();
  const stats: SpoolStats = { crashes: 0, bytes: 0, oldestSpooledAt: undefined, claimed: {}, scannedAt };
  const add = (name: string) => {
    const e = parseEntryName(name);
    if (!e) return false;
    stats.crashes++;
    stats.bytes += e.bytes;
    if (stats.oldestSpooledAt === undefined || e.spooledAt < stats.oldestSpooledAt) stats.oldestSpooledAt = e.spooledAt;
    return true;
  };
  for (const name of await listDir(p.ready)) add(name);
  for (const pid of await listDir(p.claimed)) {
    let n = 0;
    for (const name of await listDir(path.join(p.claimed, pid))) if (add(name)) n++;
    if (n > 0) stats.claimed[pid] = n;
  }
  return stats;
}

/** Gives a worker's claimed entries back to `ready/` (the worker is gone). */
export async function releaseClaims(p: SpoolPaths, pid: number | string): Promise<number> {
  const dir = path.join(p.claimed, String(pid));
  const names = await listDir(dir);
  // A missing ready/ would fail every rename with ENOENT, read below as "the
  // entry is gone", and the rm would then delete acknowledged crashes.
  if (names.length > 0) await mkdir(p.ready, { recursive: true });
  let released = 0;
  for (const name of names) {
    try {
      await rename(path.join(dir, name), path.join(p.ready, name));
      released++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await rm(dir, { recursive: true, force: true });
  return released;
}

/**
 * Start-up recovery, before any worker runs: half-written entries in `tmp/`
 * were never acknowledged and are deleted; every claim is released, since
 * no worker of a previous run is moving anything any more.
 */
export async function recoverSpool(p: SpoolPaths): Promise<{ discarded: number; released: number }> {
  await ensureSpoolDirs(p);
  const partial = await listDir(p.tmp);
  await Promise.all(partial.map((name) => rm(path.join(p.tmp, name), { force: true })));
  let released = 0;
  for (const pid of await listDir(p.claimed)) released += await releaseClaims(p, pid);
  return { discarded: partial.length, released };
}

/**
 * While workers run: removes what killed writers left in `tmp/` (temporary
 * entries and write probes, by name) once older than `cutoffMs`. A live
 * write that is older still would only fail its rename and be refused with
 * 503: nothing in `tmp/` has been acknowledged.
 */
export function sweepSpoolTmp(p: SpoolPaths, cutoffMs: number): Promise<SweepCount> {
  return removeStaleFiles(p.tmp, isSpoolTempName, cutoffMs);
}

/** The configured limit in bytes; a percentage is of the spool disk's free space now. */
export async function resolveSpoolLimit(limit: SpoolLimit, p: SpoolPaths): Promise<number> {
  if ('bytes' in limit) return limit.bytes;
  await ensureSpoolDirs(p);
  const fs = await statfs(p.root);
  return Math.floor((fs.bavail * fs.bsize * limit.percentOfFree) / 100);
}
