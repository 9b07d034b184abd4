import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrimarySpool } from '../../src/primary/spool';
import { loadConfig } from '../../src/shared/config';
import type { Metrics } from '../../src/shared/metrics';
import { tempDir } from '../support/server';
import { sleep, waitFor } from '../support/wait';
import { recordingLogger } from '../support/recording';

const HOUR = 3600_000;

function seed(file: string, ageMs: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, 'x');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
  return file;
}

function setup(env: Record<string, string> = {}) {
  const root = path.join(tempDir(), 'spool');
  const config = loadConfig({ CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_DIR: root, CRASHMOVER_SPOOL_SWEEP_MIN_AGE: '600', ...env });
  const swept: number[] = [];
  const counts: string[] = [];
  const metrics: Metrics = {
    incr: (name, tags, value) => {
      counts.push(`${name} ${value ?? 1} [${(tags ?? []).join(',')}]`);
      if (name === 'collector.spool.swept.count') swept.push(value ?? 1);
    },
    gauge() {},
    timing() {},
    histogram() {},
    close: async () => {},
  };
  const { lines, logger } = recordingLogger();
  const spool = new PrimarySpool(config, logger, metrics);
  const tmp = (name: string) => path.join(root, 'tmp', name);
  return { root, spool, swept, counts, lines, tmp, total: () => swept.reduce((a, b) => a + b, 0) };
}

describe('PrimarySpool sweeping', () => {
  it('counts what start-up recovery discards from tmp/', async () => {
    const s = setup({ CRASHMOVER_SPOOL_SWEEP_INTERVAL: '0' });
    seed(s.tmp('.1-2-x.crash.0123456789ab.tmp'), 2 * HOUR);
    seed(s.tmp('.probe-12345'), 0);
    await s.spool.recover();
    expect(s.total()).toBe(2);
    expect(existsSync(s.tmp('.probe-12345'))).toBe(false);
    await s.spool.reportLeftover();
  });

  it('sweeps old temporary entries and write probes from tmp/ every interval; keeps fresh ones and other names; stops at exit', async () => {
    const s = setup({ CRASHMOVER_SPOOL_SWEEP_INTERVAL: '1' });
    await s.spool.recover();
    expect(s.total()).toBe(0);
    // What workers killed after start-up leave behind.
    const oldEntry = seed(s.tmp('.1700000000000-12-de1bb258-cbbf-4589-a673-000010160918.crash.0123456789ab.tmp'), 2 * HOUR);
    const oldProbe = seed(s.tmp('.probe-4242'), 2 * HOUR);
    const fresh = seed(s.tmp('.1700000000000-12-de1bb258-cbbf-4589-a673-000020160918.crash.aaaaaaaaaaaa.tmp'), 0);
    const other = seed(s.tmp('operator-notes'), 2 * HOUR);
    try {
      await waitFor('the old temporaries swept', () => !existsSync(oldEntry) && !existsSync(oldProbe), 15000);
      await waitFor('the sweep counted', () => s.total() === 2, 5000);
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(other)).toBe(true);
      expect(s.lines.join('\n')).toMatch(/spool sweep: removed 2 files left in .*tmp by interrupted writes/);
    } finally {
      await s.spool.reportLeftover();
    }
    const afterExit = seed(s.tmp('.late.0123456789ab.tmp'), 2 * HOUR);
    await sleep(1500);
    expect(existsSync(afterExit)).toBe(true);
  });
});

describe('PrimarySpool releasing a dead worker’s claims', () => {
  it('moves them back to ready/ while the node runs, logs the number with the pid, and counts it once', async () => {
    const s = setup({ CRASHMOVER_SPOOL_SWEEP_INTERVAL: '0' });
    await s.spool.recover();
    const names = ['1700000000000-12-de1bb258-cbbf-4589-a673-000010160918.crash', '1700000000001-12-de1bb258-cbbf-4589-a673-000020160918.crash'];
    for (const name of names) seed(path.join(s.root, 'claimed', '4242', name), 0);
    seed(path.join(s.root, 'claimed', '4343', 'untouched.crash'), 0);
    s.spool.workerGone(4242);
    s.spool.workerGone(5555); // no claims: nothing to say
    await s.spool.reportLeftover(); // waits for releases in progress
    expect(names.every((n) => existsSync(path.join(s.root, 'ready', n)))).toBe(true);
    expect(existsSync(path.join(s.root, 'claimed', '4242'))).toBe(false);
    expect(existsSync(path.join(s.root, 'claimed', '4343', 'untouched.crash'))).toBe(true);
    expect(s.lines.filter((l) => /released/.test(l)).map((l) => JSON.parse(l).Fields.message)).toEqual(['spool: released 2 crashes claimed by worker 4242']);
    expect(s.counts.filter((c) => c.startsWith('collector.spool.released.count'))).toEqual(['collector.spool.released.count 2 []']);
  });
});
