import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crashBody } from '../../bench/lib/bodies';
import { runLoad } from '../../bench/lib/load';
import { parseOptions, UsageError } from '../../bench/lib/options';
import { removeDataDirs, startServer } from '../../bench/lib/servers';
import {
  countFiles,
  MIN_REMOVED_FILES,
  noteRemoval,
  readRemovalNote,
  removalNotePath,
  scansRemovedInodes,
  scansRemovedInodesHere,
  settlePlan,
  settleWaitMs,
} from '../../bench/lib/settle';

const S = 1000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-settle-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('--settle', () => {
  it('defaults to 360 s, is read from the flag or BENCH_SETTLE, 0 never waits, and refuses what is not 0 to 360 seconds', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ settleS: 360 });
    expect(parseOptions(['--settle', '0'], {}, '/r')).toMatchObject({ settleS: 0 });
    expect(parseOptions(['--settle=90'], { BENCH_SETTLE: '30' }, '/r')).toMatchObject({ settleS: 90 });
    expect(parseOptions([], { BENCH_SETTLE: '30' }, '/r')).toMatchObject({ settleS: 30 });
    for (const bad of ['-1', 'x', '361', '']) expect(() => parseOptions(['--settle', bad], {}, '/r')).toThrow(UsageError);
    expect(() => parseOptions(['--settle', '400'], {}, '/r')).toThrow(/--settle expects 0 to 360 seconds, got "400"/);
  });
});

describe('the wait after an earlier removal', () => {
  const now = 1_000_000_000;

  it('is the rest of the settle time after the removal, none once it has passed, for a small removal or without a note', () => {
    const note = { at: now - 100 * S, files: 50_000 };
    expect(settleWaitMs(note, now, 360)).toBe(260 * S);
    expect(settleWaitMs(note, now, 90)).toBe(0);
    expect(settleWaitMs({ ...note, at: now - 400 * S }, now, 360)).toBe(0);
    expect(settleWaitMs({ ...note, files: MIN_REMOVED_FILES - 1 }, now, 360)).toBe(0);
    expect(settleWaitMs(undefined, now, 360)).toBe(0);
    // A note from the future (the clock went back): never more than the settle time.
    expect(settleWaitMs({ ...note, at: now + 3600 * S }, now, 360)).toBe(360 * S);
  });

  it('applies only to a run with a durable server, on a filesystem that scans removed inodes, and says why and how to skip it', () => {
    const note = { at: now - 60 * S, files: 48_211 };
    const plan = settlePlan(['raw', 'noop', 'raw-durable', 'fs'], 360, note, now, true);
    expect(plan?.waitMs).toBe(300 * S);
    expect(plan?.message).toMatch(/removed 48211 files 60 s ago.*ext4 without a journal.*waiting 300 s \(--settle 0 starts at once; --keep-data/);
    for (const kind of ['raw-durable', 'raw-layout', 'fs']) expect(settlePlan([kind], 360, note, now, true)?.waitMs).toBe(300 * S);
    expect(settlePlan(['raw', 'noop', 'raw-sha'], 360, note, now, true)).toBeUndefined();
    expect(settlePlan(['fs'], 360, note, now, false)).toBeUndefined();
    expect(settlePlan(['fs'], 360, undefined, now, true)).toBeUndefined();
  });
});

describe('the removal note', () => {
  it('is written for a removal of enough files, read back, and ignored when missing or not a note', () => {
    const file = path.join(dir, 'note.json');
    noteRemoval(MIN_REMOVED_FILES - 1, 5, file);
    expect(existsSync(file)).toBe(false);
    expect(readRemovalNote(file)).toBeUndefined();
    noteRemoval(20_000, 1234, file);
    expect(readRemovalNote(file)).toEqual({ at: 1234, files: 20_000 });
    writeFileSync(file, '{"at":"yesterday"}');
    expect(readRemovalNote(file)).toBeUndefined();
    writeFileSync(file, 'not json');
    expect(readRemovalNote(file)).toBeUndefined();
    expect(removalNotePath('/some/tmp')).toBe('/some/tmp/antenna-bench-removal.json');
  });

  it('counts files, not directories, and 0 for a directory that is gone', () => {
    writeFileSync(path.join(dir, 'a'), '');
    const sub = path.join(dir, 'v1', 'dump');
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, 'x'), '');
    writeFileSync(path.join(sub, 'y'), '');
    expect(countFiles(dir)).toBe(3);
    expect(countFiles(path.join(dir, 'missing'))).toBe(0);
  });

  it('is left by the end of a bench whose durable server wrote enough files, so the next one waits', async () => {
    // Under the temporary directory, which the test setup makes this run's own (TMPDIR), not the machine's.
    const server = await startServer('raw-durable', { workers: 1, collectorEnv: {} });
    let acknowledged = 0;
    try {
      acknowledged = (await runLoad(server.url, crashBody(4096, 'plain'), 8, 30, { amount: MIN_REMOVED_FILES + 100 })).ok2xx;
    } finally {
      await server.stop();
    }
    expect(acknowledged).toBe(MIN_REMOVED_FILES + 100);
    const before = Date.now();
    try {
      expect(removeDataDirs()).toHaveLength(1);
      const note = readRemovalNote();
      expect(note?.files).toBe(acknowledged);
      expect(note!.at).toBeGreaterThanOrEqual(before);
      expect(settleWaitMs(note, Date.now(), 360)).toBeGreaterThan(350 * S);
    } finally {
      rmSync(removalNotePath(), { force: true });
    }
  }, 60_000);
});

describe('which filesystems scan removed inodes', () => {
  const mountinfo = [
    '22 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
    '30 22 0:26 / /tmp rw,nosuid shared:5 - tmpfs tmpfs rw',
    '31 22 252:16 / /data rw - ext4 /dev/vdb rw',
    '32 22 252:32 / /srv rw master:1 - xfs /dev/vdc rw',
  ].join('\n');

  it('ext4 without a journal: yes; the same ext4 with one (a /proc/fs/jbd2 entry), another filesystem, or none found: no', () => {
    expect(scansRemovedInodes('/home/u/bench', mountinfo, [])).toBe(true);
    expect(scansRemovedInodes('/home/u/bench', mountinfo, ['vda-8'])).toBe(false);
    expect(scansRemovedInodes('/data/x', mountinfo, ['vda-8'])).toBe(true);
    expect(scansRemovedInodes('/data/x', mountinfo, ['vdb-8'])).toBe(false);
    // The longest mount point holding the directory decides, on a path boundary.
    expect(scansRemovedInodes('/tmp/antenna-bench-fs-1', mountinfo, [])).toBe(false);
    expect(scansRemovedInodes('/tmpfoo', mountinfo, [])).toBe(true);
    expect(scansRemovedInodes('/srv/a', mountinfo, [])).toBe(false);
    expect(scansRemovedInodes('/x', '', [])).toBe(false);
  });

  it('no for a directory that cannot be resolved', () => {
    expect(scansRemovedInodesHere('/no/such/dir')).toBe(false);
  });
});
