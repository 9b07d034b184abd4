/**
 * A bench that starts right after another measures the other's clean-up.
 *
 * The bench removes its durable servers' files when it ends (servers.ts,
 * removeDataDirs). On an ext4 without a journal, every file created in the
 * next 60–360 s skips, one inode-table read each, the inodes of its group
 * removed in that time (the kernel's `recently_deleted`): run straight after
 * one that removed ~16,000 files, that scan was ~25 % of the durable servers'
 * worker CPU, three times over for fs (three files per crash), and their
 * crashes/s were off by up to 2.5× (bench/README.md, "How a run goes").
 *
 * So the removal is noted in a file under the temp directory, and a bench
 * with a durable server on such a filesystem waits out the rest of the
 * 360 s before its first run (`--settle`). Journaled ext4, XFS and the rest
 * do not scan, and do not wait.
 */
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** How long removed inodes are skipped at most: 60 s, plus 300 s while their inode-table block is dirty (fs/ext4/ialloc.c). */
export const SETTLE_S = 360;
/** Fewer removed files than this cost the next bench nothing measurable. */
export const MIN_REMOVED_FILES = 1000;

export interface RemovalNote {
  /** When the removal ended (ms since the epoch). */
  at: number;
  /** Files removed. */
  files: number;
}

export const removalNotePath = (tmpDir = os.tmpdir()): string => path.join(tmpDir, 'antenna-bench-removal.json');

/** Files (not directories) under `dir`, 0 when it is gone. */
export function countFiles(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).length;
  } catch {
    return 0;
  }
}

/** Notes a removal of `files` files, when there were enough to matter. */
export function noteRemoval(files: number, at = Date.now(), file = removalNotePath()): void {
  if (files < MIN_REMOVED_FILES) return;
  try {
    writeFileSync(file, JSON.stringify({ at, files } satisfies RemovalNote));
  } catch {
    // No note, no wait: the next bench runs at once, as it did before notes.
  }
}

export function readRemovalNote(file = removalNotePath()): RemovalNote | undefined {
  try {
    const n = JSON.parse(readFileSync(file, 'utf8')) as Partial<RemovalNote>;
    return typeof n.at === 'number' && typeof n.files === 'number' ? { at: n.at, files: n.files } : undefined;
  } catch {
    return undefined;
  }
}

/** Milliseconds left to wait, `settleS` after the noted removal (0 without one, or one too small to matter). */
export function settleWaitMs(note: RemovalNote | undefined, now: number, settleS: number): number {
  if (!note || note.files < MIN_REMOVED_FILES) return 0;
  return Math.max(0, Math.min(note.at + settleS * 1000 - now, settleS * 1000));
}

/** What a bench about to run `servers` waits before its first run, and the line that says why; undefined: it starts at once. */
export function settlePlan(
  servers: readonly string[],
  settleS: number,
  note: RemovalNote | undefined,
  now: number,
  scansRemoved: boolean,
): { waitMs: number; message: string } | undefined {
  if (!scansRemoved || !servers.some((k) => k === 'raw-durable' || k === 'raw-layout' || k === 'fs')) return undefined;
  const waitMs = settleWaitMs(note, now, settleS);
  if (waitMs <= 0) return undefined;
  return {
    waitMs,
    message:
      `bench: a bench removed ${note!.files} files ${Math.max(0, (now - note!.at) / 1000).toFixed(0)} s ago, and on this filesystem (ext4 without a journal) ` +
      `creating a file skips every recently removed inode of its group, which would slow the durable servers' runs; waiting ${Math.ceil(waitMs / 1000)} s ` +
      `(--settle 0 starts at once; --keep-data on the bench before avoids the wait)`,
  };
}

/**
 * Whether creating files under `dir` skips recently removed inodes: its
 * filesystem is ext4 mounted without a journal. `mountinfo` is
 * /proc/self/mountinfo's text, `journals` the entries of /proc/fs/jbd2 (one
 * `<device>-8` per journaled ext4).
 */
export function scansRemovedInodes(dir: string, mountinfo: string, journals: readonly string[]): boolean {
  let best: { point: string; type: string; source: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    // <id> <parent> <major:minor> <root> <mount point> <options> [optional fields...] - <type> <source> <super options>
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4];
    const [type, source] = right.split(' ');
    if (!point || !type || !source) continue;
    const within = dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (within && (!best || point.length >= best.point.length)) best = { point, type, source };
  }
  if (!best || best.type !== 'ext4') return false;
  const device = path.basename(best.source);
  return !journals.some((j) => j.startsWith(`${device}-`));
}

/** scansRemovedInodes for `dir` on this machine; false where /proc cannot say (not Linux). */
export function scansRemovedInodesHere(dir = os.tmpdir()): boolean {
  let journals: string[] = [];
  try {
    journals = readdirSync('/proc/fs/jbd2');
  } catch {
    // No jbd2 at all: no journaled ext4 either.
  }
  try {
    return scansRemovedInodes(realpathSync(dir), readFileSync('/proc/self/mountinfo', 'utf8'), journals);
  } catch {
    return false;
  }
}
