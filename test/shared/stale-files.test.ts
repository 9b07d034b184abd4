import { existsSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isTempFileName, tempFileName, writeFileDurably } from '../../src/shared/durable-file';
import { removeStaleFiles, startPeriodic } from '../../src/shared/stale-files';
import { tempDir } from '../support/server';

const HOUR = 3600_000;

/** A file whose mtime is `ageMs` ago. */
function seed(file: string, ageMs: number, content = 'x'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
  return file;
}

describe('temporary file names', () => {
  it('recognises the names prepareFile writes under, and nothing a crash or a dotfile is named', () => {
    expect(isTempFileName(tempFileName('/s/v1/dump/de1bb258-cbbf-4589-a673-000001160918'))).toBe(true);
    expect(isTempFileName(tempFileName('/spool/ready/1700000000000-12-de1bb258-cbbf-4589-a673-000001160918.crash'))).toBe(true);
    for (const name of [
      'de1bb258-cbbf-4589-a673-000001160918',
      '.x.tmp',
      'x.0123456789ab.tmp',
      '.x.0123456789AB.tmp',
      '.x.0123456789ab.tmp.keep',
      '.gitignore',
    ]) {
      expect([name, isTempFileName(name)]).toEqual([name, false]);
    }
  });
});

describe('removeStaleFiles', () => {
  it('removes old temporary files only: fresh ones, other names, subdirectories and symlinks stay', async () => {
    const dir = tempDir();
    const outside = tempDir();
    const old = seed(path.join(dir, '.crash.0123456789ab.tmp'), 2 * HOUR);
    const fresh = seed(path.join(dir, '.crash.aaaaaaaaaaaa.tmp'), 0);
    const other = seed(path.join(dir, 'crash'), 2 * HOUR);
    const nested = seed(path.join(dir, 'sub', '.crash.bbbbbbbbbbbb.tmp'), 2 * HOUR);
    // A symlink named like a temporary file, to an old file outside: neither the link nor its target goes.
    const target = seed(path.join(outside, '.target.cccccccccccc.tmp'), 2 * HOUR);
    const link = path.join(dir, '.link.dddddddddddd.tmp');
    symlinkSync(target, link);
    // A symlinked directory is not entered.
    const linkedDirFile = seed(path.join(outside, 'd', '.f.eeeeeeeeeeee.tmp'), 2 * HOUR);
    symlinkSync(path.join(outside, 'd'), path.join(dir, 'linked'));

    const count = await removeStaleFiles(dir, isTempFileName, Date.now() - HOUR);

    expect(count).toEqual({ removed: 1, failed: 0 });
    expect(existsSync(old)).toBe(false);
    for (const kept of [fresh, other, nested, target, link, linkedDirFile]) expect([kept, existsSync(kept)]).toEqual([kept, true]);
  });

  it('finds nothing in a directory that does not exist', async () => {
    expect(await removeStaleFiles(path.join(tempDir(), 'missing'), isTempFileName, Date.now())).toEqual({ removed: 0, failed: 0 });
  });

  it('leaves no temporary file of a completed durable write to sweep', async () => {
    const dir = tempDir();
    await writeFileDurably(path.join(dir, 'done'), Buffer.from('x'));
    expect(await removeStaleFiles(dir, isTempFileName, Date.now() + HOUR)).toEqual({ removed: 0, failed: 0 });
    expect(existsSync(path.join(dir, 'done'))).toBe(true);
  });
});

describe('startPeriodic', () => {
  it('runs at once, never twice at the same time, and stop() waits for the run under way', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const p = startPeriodic(async () => {
      runs++;
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await gate;
      concurrent--;
    }, 5);
    await new Promise((r) => setTimeout(r, 50));
    const stopped = p.stop();
    release();
    await stopped;
    expect(runs).toBe(1);
    expect(maxConcurrent).toBe(1);
    expect(concurrent).toBe(0);
  });
});
