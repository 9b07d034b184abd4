import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { CrashReport } from '../../../src/shared/crash-report';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { fsSweepOptions, orphanMinAgeMs, parseDumpNames, startFsSweeper, sweepFsStorage, type FsSweepOptions } from '../../../src/worker/storage/fs-sweep';
import { fakeDump } from '../../support/crashes';
import { tempDir } from '../../support/server';
import { recordingCounts, recordingLogger } from '../../support/recording';

const HOUR = 3600_000;
const DATE = '20160918';
const id = (i: number) => `de1bb258-cbbf-4589-a673-${String(i).padStart(5, '0')}0160918`; // throttle digit 0

function crash(i: number): CrashReport {
  return {
    crashId: id(i),
    rawCrash: { ProductName: 'Test', uuid: id(i) },
    dumps: new Map([
      ['upload_file_minidump', fakeDump(1000 + i)],
      ['memory_report', fakeDump(100 + i)],
    ]),
  };
}

const crashKeys = (i: number) => [`v1/dump/${id(i)}`, `v1/memory_report/${id(i)}`, `v1/dump_names/${id(i)}`, `v1/raw_crash/${DATE}/${id(i)}`];

function age(file: string, ageMs: number): void {
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
}

function seed(file: string, ageMs: number, content = 'x'): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  age(file, ageMs);
}

/** Every entry that is not a directory, links included and never followed (node 22's recursive readdir follows them). */
function allFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]))
    .sort();
}

/** Saves crashes `ids` completely, then makes some orphans: their raw crash is removed (a kill before its rename). */
async function tree(root: string, ids: number[], orphans: number[], ageMs = 2 * HOUR): Promise<void> {
  const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
  for (const i of ids) await storage.save(crash(i));
  await storage.close();
  for (const i of orphans) rmSync(path.join(root, `v1/raw_crash/${DATE}/${id(i)}`));
  for (const i of ids) for (const key of crashKeys(i)) if (existsSync(path.join(root, key))) age(path.join(root, key), ageMs);
}

const opts = (root: string, over: Partial<FsSweepOptions> = {}): FsSweepOptions => ({
  root,
  dumpField: 'upload_file_minidump',
  tmpMinAgeMs: HOUR,
  orphanMinAgeMs: HOUR,
  ...over,
});

describe('fs storage sweep', () => {
  it('removes old temporary files next to every kind of target; keeps fresh ones, other names, and anything outside the layout', async () => {
    const root = tempDir();
    await tree(root, [1], []);
    const outside = tempDir();
    const oldTmp = [
      `v1/raw_crash/${DATE}/.${id(2)}.0123456789ab.tmp`,
      `v1/dump/.${id(2)}.0123456789ab.tmp`,
      `v1/memory_report/.${id(2)}.0123456789ab.tmp`,
      `v1/dump_names/.${id(2)}.0123456789ab.tmp`,
      'test/.testfile-1.txt.0123456789ab.tmp',
    ];
    for (const f of oldTmp) seed(path.join(root, f), 2 * HOUR);
    const kept = [
      `v1/dump/.${id(3)}.aaaaaaaaaaaa.tmp`, // fresh: a save may be writing it
      'v1/dump/notes.txt', // not a temporary name
      '.root-level.0123456789ab.tmp', // not where saves write
      `v1/raw_crash/${DATE}/deeper/.x.0123456789ab.tmp`, // below the layout
    ];
    seed(path.join(root, kept[0]!), 0);
    for (const f of kept.slice(1)) seed(path.join(root, f), 2 * HOUR);
    // Symlinks: a temporary-looking link to an old file outside, and a linked directory of old temporaries.
    seed(path.join(outside, '.target.0123456789ab.tmp'), 2 * HOUR);
    seed(path.join(outside, 'dir', '.x.0123456789ab.tmp'), 2 * HOUR);
    symlinkSync(path.join(outside, '.target.0123456789ab.tmp'), path.join(root, 'v1/dump/.link.0123456789ab.tmp'));
    symlinkSync(path.join(outside, 'dir'), path.join(root, 'v1/linked'));

    const r = await sweepFsStorage(opts(root));

    expect(r.tmp).toEqual({ removed: oldTmp.length, failed: 0 });
    expect(r.orphans).toEqual({ removed: 0, failed: 0 });
    expect(allFiles(root)).toEqual([...crashKeys(1), ...kept, 'v1/dump/.link.0123456789ab.tmp', 'v1/linked'].sort());
    expect(allFiles(outside)).toEqual(['.target.0123456789ab.tmp', 'dir/.x.0123456789ab.tmp']);
  });

  it('removes an old crash without raw crash (dumps, then dump_names); keeps complete crashes and young orphans', async () => {
    const root = tempDir();
    await tree(root, [1, 2], [2]);
    await tree(root, [3], [3], 0); // interrupted a moment ago: a save of it may still be under way
    const r = await sweepFsStorage(opts(root));
    expect(r.orphans).toEqual({ removed: 1, failed: 0 });
    expect(r.orphanFiles).toBe(3);
    expect(allFiles(root)).toEqual([...crashKeys(1), ...crashKeys(3).slice(0, 3)].sort());
  });

  it('keeps an old orphan while one of its dumps is young (the crash is being saved again under its id)', async () => {
    const root = tempDir();
    await tree(root, [1], [1]);
    age(path.join(root, `v1/memory_report/${id(1)}`), 0);
    const r = await sweepFsStorage(opts(root));
    expect(r.orphans).toEqual({ removed: 0, failed: 0 });
    expect(allFiles(root)).toEqual(crashKeys(1).slice(0, 3).sort());
  });

  it('keeps orphans when their age is undefined (spool mode with CRASHMOVER_SPOOL_MAX_AGE=0)', async () => {
    const root = tempDir();
    await tree(root, [1], [1]);
    const r = await sweepFsStorage(opts(root, { orphanMinAgeMs: undefined }));
    expect(r.orphans.removed).toBe(0);
    expect(allFiles(root)).toEqual(crashKeys(1).slice(0, 3).sort());
  });

  it('leaves a dump_names it cannot read alone and says so; removes only the dumps a valid one names, inside the tree', async () => {
    const root = tempDir();
    await tree(root, [1], []);
    seed(path.join(root, `v1/dump_names/${id(2)}`), 2 * HOUR, '{"not": "a list"}');
    seed(path.join(root, `v1/dump_names/${id(3)}`), 2 * HOUR, '["../../escape"]');
    seed(path.join(root, 'escape'), 2 * HOUR);
    const r = await sweepFsStorage(opts(root));
    expect(r.orphans.removed).toBe(0);
    expect(r.orphans.failed).toBe(2);
    expect(r.orphans.firstError).toMatch(/not a JSON list of dump names; left in place/);
    expect(allFiles(root)).toEqual([...crashKeys(1), `v1/dump_names/${id(2)}`, `v1/dump_names/${id(3)}`, 'escape'].sort());
  });

  it('keeps an orphan one of whose dumps is a symlink, and what it points to', async () => {
    const root = tempDir();
    const outside = tempDir();
    await tree(root, [1], [1]);
    seed(path.join(outside, 'precious'), 2 * HOUR);
    rmSync(path.join(root, `v1/memory_report/${id(1)}`));
    symlinkSync(path.join(outside, 'precious'), path.join(root, `v1/memory_report/${id(1)}`));
    expect((await sweepFsStorage(opts(root))).orphans).toEqual({ removed: 0, failed: 0 });
    expect(allFiles(root)).toEqual(crashKeys(1).slice(0, 3).sort());
    expect(existsSync(path.join(outside, 'precious'))).toBe(true);
  });

  it('does not follow a symlink in dump_names', async () => {
    const root = tempDir();
    const outside = tempDir();
    seed(path.join(outside, 'names'), 2 * HOUR, '[]');
    mkdirSync(path.join(root, 'v1/dump_names'), { recursive: true });
    symlinkSync(path.join(outside, 'names'), path.join(root, `v1/dump_names/${id(1)}`));
    expect((await sweepFsStorage(opts(root))).orphans).toEqual({ removed: 0, failed: 0 });
    expect(existsSync(path.join(outside, 'names'))).toBe(true);
  });

  it('sweeps an empty or missing root without error', async () => {
    const r = await sweepFsStorage(opts(path.join(tempDir(), 'nothing')));
    expect(r).toEqual({ tmp: { removed: 0, failed: 0 }, orphans: { removed: 0, failed: 0 }, orphanFiles: 0 });
  });

  it('parses only the dump_names the collector writes', () => {
    expect(parseDumpNames('["memory_report","upload_file_minidump"]')).toEqual(['memory_report', 'upload_file_minidump']);
    expect(parseDumpNames('[]')).toEqual([]);
    for (const bad of ['', 'null', '{}', '[1]', '["a/b"]', '[".."]', `["${'x'.repeat(31)}"]`]) expect([bad, parseDumpNames(bad)]).toEqual([bad, undefined]);
  });
});

describe('orphan age', () => {
  const cfg = (env: Record<string, string>) => loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_SWEEP_MIN_AGE: '600', ...env });
  it('is the sweep age without the spool, and at least CRASHMOVER_SPOOL_MAX_AGE with it (never when that is 0)', () => {
    expect(orphanMinAgeMs(cfg({}))).toBe(600_000);
    expect(orphanMinAgeMs(cfg({ CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_MAX_AGE: '86400' }))).toBe(86_400_000);
    expect(orphanMinAgeMs(cfg({ CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_MAX_AGE: '60' }))).toBe(600_000);
    expect(orphanMinAgeMs(cfg({ CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_MAX_AGE: '0' }))).toBeUndefined();
    expect(fsSweepOptions(cfg({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: 'rel' })).root).toBe(path.resolve('rel'));
  });
});

describe('startFsSweeper', () => {
  function recording() {
    return { ...recordingCounts(), ...recordingLogger() };
  }

  it('sweeps at once, counts what it removed by kind, and logs one line with the counts', async () => {
    const root = tempDir();
    await tree(root, [1, 2], [2]);
    seed(path.join(root, `v1/dump/.${id(3)}.0123456789ab.tmp`), 2 * HOUR);
    const r = recording();
    const sweeper = startFsSweeper(loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: root }), r.logger, r.metrics);
    await sweeper!.stop();
    expect(r.counted.sort()).toEqual(['collector.storage.swept.count kind:orphan 1', 'collector.storage.swept.count kind:tmp 1']);
    expect(r.lines.join('\n')).toMatch(/storage sweep of .*: removed 1 temporary files and 1 orphaned crashes \(3 files\) in \d+ ms/);
    expect(allFiles(root)).toEqual(crashKeys(1).sort());
  });

  it('does not sweep other storage, nor when the interval is 0', () => {
    const r = recording();
    expect(startFsSweeper(loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'noop' }), r.logger, r.metrics)).toBeUndefined();
    expect(startFsSweeper(loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_SWEEP_INTERVAL: '0' }), r.logger, r.metrics)).toBeUndefined();
  });
});
