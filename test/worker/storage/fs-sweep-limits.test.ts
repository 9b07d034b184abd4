/**
 * The fs sweep's limits: the temporary-file age comes from the config in
 * seconds, and a dump_names is read only up to the size the collector could
 * have written (64 KiB); a bigger one is left alone, naming its size.
 */
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import { fsSweepOptions, startFsSweeper, sweepFsStorage } from '../../../src/worker/storage/fs-sweep';
import { tempDir } from '../../support/server';
import { recordingCounts, recordingLogger } from '../../support/recording';

const HOUR = 3600_000;
const id = (i: number) => `de1bb258-cbbf-4589-a673-${String(i).padStart(5, '0')}0160918`;
const MAX = 64 * 1024;

function seedOld(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  const t = (Date.now() - 2 * HOUR) / 1000;
  utimesSync(file, t, t);
}

/** A JSON list naming `upload_file_minidump`, padded with spaces to `size` bytes. */
const dumpNamesOf = (size: number) => {
  const json = '["upload_file_minidump"]';
  return json + ' '.repeat(size - json.length);
};

describe('fs sweep limits', () => {
  it('takes the temporary-file age from CRASHMOVER_CRASHSTORAGE_FS_SWEEP_MIN_AGE, in seconds', () => {
    expect(fsSweepOptions(loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_SWEEP_MIN_AGE: '600' })).tmpMinAgeMs).toBe(600_000);
  });

  it('sweeps an orphan whose dump_names is exactly 64 KiB, and leaves one a byte bigger alone, saying how big it is', async () => {
    const root = tempDir();
    const opts = { root, dumpField: 'upload_file_minidump', tmpMinAgeMs: HOUR, orphanMinAgeMs: HOUR };
    seedOld(path.join(root, `v1/dump_names/${id(1)}`), dumpNamesOf(MAX));
    seedOld(path.join(root, `v1/dump/${id(1)}`), 'dump');
    seedOld(path.join(root, `v1/dump_names/${id(2)}`), dumpNamesOf(MAX + 1));
    seedOld(path.join(root, `v1/dump/${id(2)}`), 'dump');
    const r = await sweepFsStorage(opts);
    expect(r.orphans.removed).toBe(1); // crash 1 (its dump and dump_names)
    expect(r.orphans.failed).toBe(1);
    expect(r.orphans.firstError).toBe(
      `${path.join(root, 'v1/dump_names', id(2))}: not a dump_names file the collector wrote (${MAX + 1} bytes); left in place`,
    );
    expect(readdirSync(path.join(root, 'v1/dump_names'))).toEqual([id(2)]);
    expect(readdirSync(path.join(root, 'v1/dump'))).toEqual([id(2)]);
  });
});

describe('the periodic sweep', () => {
  function recording() {
    return { ...recordingCounts(), ...recordingLogger() };
  }

  it('sends no count when it removed nothing, and warns with the count and the first error when a file had to stay', async () => {
    const root = tempDir();
    const big = path.join(root, `v1/dump_names/${id(2)}`);
    seedOld(big, dumpNamesOf(MAX + 1));
    const r = recording();
    const sweeper = startFsSweeper(loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: root }), r.logger, r.metrics);
    await sweeper!.stop();
    expect(r.counted).toEqual([]);
    const warnings = r.lines.filter((l) => l.includes('could not be removed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`storage sweep: 1 files could not be removed; first: ${big}: not a dump_names file`);
  });

  it('does not warn when everything could be removed', async () => {
    const root = tempDir();
    const r = recording();
    const sweeper = startFsSweeper(loadConfig({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: root }), r.logger, r.metrics);
    await sweeper!.stop();
    expect(r.lines.some((l) => l.includes('storage sweep of'))).toBe(true);
    expect(r.lines.some((l) => l.includes('could not be removed'))).toBe(false);
  });
});
