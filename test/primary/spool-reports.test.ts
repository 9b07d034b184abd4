import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrimarySpool } from '../../src/primary/spool';
import { loadConfig } from '../../src/shared/config';
import type { Metrics } from '../../src/shared/metrics';
import { recordingLogger } from '../support/recording';
import { tempDir } from '../support/server';

/** Entry names carry the spool time and the size: 1700000000000 ms, 12 bytes. */
const entry = (n: number) => `1700000000000-12-de1bb258-cbbf-4589-a673-0000${n}0160918.crash`;

function setup() {
  const root = path.join(tempDir(), 'spool');
  const config = loadConfig({
    CRASHMOVER_SPOOL: 'on',
    CRASHMOVER_SPOOL_DIR: root,
    CRASHMOVER_SPOOL_MAX_BYTES: '2097152',
    CRASHMOVER_SPOOL_SWEEP_INTERVAL: '0',
  });
  const sent: string[] = [];
  const metrics: Metrics = {
    incr: (name, tags, value) => void sent.push(`incr ${name} [${(tags ?? []).join(',')}] ${value ?? 1}`),
    gauge: (name, value) => void sent.push(`gauge ${name} ${value}`),
    timing() {},
    histogram() {},
    close: async () => {},
  };
  const { lines, logger } = recordingLogger();
  const logged = () =>
    lines.map((l) => {
      const { Severity, Fields } = JSON.parse(l) as { Severity: number; Fields: { message: string } };
      return `${Severity === 4 ? 'warn' : Severity === 3 ? 'error' : 'info'} ${Fields.message}`;
    });
  const put = (dir: string, name: string) => {
    mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(path.join(root, dir, name), 'x');
  };
  return { root, spool: new PrimarySpool(config, logger, metrics), sent, logged, put };
}

afterEach(() => jest.restoreAllMocks());

describe('PrimarySpool at start-up', () => {
  it('says what it discarded and released from a previous run, what waits, and the limit; counts the discarded entries once', async () => {
    const s = setup();
    s.put('tmp', '.1-2-x.crash.0123456789ab.tmp');
    s.put('tmp', '.probe-12345');
    s.put('ready', entry(1));
    s.put('claimed/4242', entry(2));
    await s.spool.recover();
    expect(s.logged()).toEqual([
      'warn spool: discarded 2 half-written entries from a previous run (they were never acknowledged)',
      `info spool at ${s.root}: 2 crashes (24 bytes) waiting, 1 of them released from workers of a previous run; limit 2097152 bytes`,
    ]);
    expect(s.sent.filter((m) => m.startsWith('incr'))).toEqual(['incr collector.spool.swept.count [] 2']);
    await s.spool.reportLeftover();
  });

  it('says only what waits when the previous run left nothing behind', async () => {
    const s = setup();
    await s.spool.recover();
    expect(s.logged()).toEqual([`info spool at ${s.root}: 0 crashes (0 bytes) waiting; limit 2097152 bytes`]);
    expect(s.sent.filter((m) => m.startsWith('incr'))).toEqual([]);
    await s.spool.reportLeftover();
    expect(s.logged().at(-1)).toBe('info spool: empty');
  });
});

describe('PrimarySpool listing', () => {
  it('sends the count, the bytes and the oldest entry’s age in seconds as gauges', async () => {
    const s = setup();
    await s.spool.recover();
    s.put('ready', entry(1));
    s.put('claimed/4242', entry(2));
    jest.spyOn(Date, 'now').mockReturnValue(1_700_000_100_000);
    s.sent.length = 0;
    const view = await s.spool.scan();
    expect(view).toMatchObject({ crashes: 2, bytes: 24, maxBytes: 2097152, oldestSpooledAt: 1_700_000_000_000 });
    expect(s.sent).toEqual(['gauge collector.spool.crashes 2', 'gauge collector.spool.bytes 24', 'gauge collector.spool.oldest_age_seconds 100']);
    expect(s.spool.last).toEqual(view);
  });

  it('an empty spool’s oldest age is 0', async () => {
    const s = setup();
    await s.spool.recover();
    s.sent.length = 0;
    await s.spool.scan();
    expect(s.sent).toContain('gauge collector.spool.oldest_age_seconds 0');
  });

  it('lists again on the next call once a listing is done', async () => {
    const s = setup();
    await s.spool.recover();
    expect((await s.spool.scan()).crashes).toBe(0);
    s.put('ready', entry(3));
    expect((await s.spool.scan()).crashes).toBe(1);
  });

  it('says when a dead worker’s claims cannot be released', async () => {
    const s = setup();
    await s.spool.recover();
    // claimed/<pid> is a file, not a directory: its entries cannot be listed.
    writeFileSync(path.join(s.root, 'claimed', '777'), 'x');
    s.spool.workerGone(777);
    await s.spool.reportLeftover();
    expect(s.logged().filter((l) => l.includes('777'))).toEqual([expect.stringMatching(/^error spool: cannot release the crashes claimed by worker 777: /)]);
  });
});
