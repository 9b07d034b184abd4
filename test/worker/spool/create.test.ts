import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { CrashReport } from '../../../src/shared/crash-report';
import { noopMetrics } from '../../../src/shared/metrics';
import { spoolPaths } from '../../../src/shared/spool/layout';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { createSpoolSink, spoolOptions } from '../../../src/worker/spool/create';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { silentLogger } from '../../support/backend-unit';
import { waitFor } from '../../support/wait';

describe('spoolOptions (one set of spool options for the worker and the spool tool)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'spool-options-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const env = () => ({
    CRASHMOVER_SPOOL_DIR: dir,
    CRASHMOVER_SPOOL_MAX_BYTES: '2MiB',
    CRASHMOVER_SPOOL_MAX_AGE: '60',
    CRASHMOVER_MAX_QUEUE_SIZE: '7',
    CRASHMOVER_CONCURRENT_CRASHMOVERS: '3',
  });

  test('come from CRASHMOVER_*; a worker claims up to CRASHMOVER_MAX_QUEUE_SIZE of what it receives', async () => {
    const opts = await spoolOptions(loadConfig(env()));
    expect(opts.paths.root).toBe(path.resolve(dir));
    expect(opts.maxBytes).toBe(2 * 1024 * 1024);
    expect(opts.maxAgeMs).toBe(60_000);
    expect(opts.concurrentMovers).toBe(3);
    expect(opts.maxClaimed).toBe(7);
    expect(opts.idleScanMs).toBeGreaterThanOrEqual(200);
  });

  test('never claim fewer than the movers take', async () => {
    const opts = await spoolOptions(loadConfig({ ...env(), CRASHMOVER_MAX_QUEUE_SIZE: '0' }));
    expect(opts.maxClaimed).toBe(3);
  });

  test('the spool tool shortens only the idle scan', async () => {
    const config = loadConfig(env());
    const worker = await spoolOptions(config);
    const tool = await spoolOptions(config, { idleScanMs: 200 });
    const { paths: wp, ...w } = worker;
    const { paths: tp, ...t } = tool;
    expect(t).toEqual({ ...w, idleScanMs: 200 });
    expect(tp.root).toBe(wp.root);
  });

  test('back off from CRASHMOVER_RETRY_SLEEP_SECONDS (at least 100 ms) up to CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS', async () => {
    const opts = await spoolOptions(
      loadConfig({ ...env(), CRASHMOVER_RETRY_SLEEP_SECONDS: '1.5', CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '90', CRASHMOVER_RETRY_AFTER_SECONDS: '11' }),
    );
    expect(opts.backoffBaseMs).toBe(1500);
    expect(opts.backoffMaxMs).toBe(90_000);
    expect(opts.retryAfterSeconds).toBe(11);
    const noSleep = await spoolOptions(loadConfig({ ...env(), CRASHMOVER_RETRY_SLEEP_SECONDS: '0' }));
    expect(noSleep.backoffBaseMs).toBe(100);
  });

  test('look at ready/ again every heartbeat, but not more often than every 200 ms', async () => {
    expect((await spoolOptions(loadConfig({ ...env(), HEARTBEAT_INTERVAL: '3000' }))).idleScanMs).toBe(3000);
    expect((await spoolOptions(loadConfig({ ...env(), HEARTBEAT_INTERVAL: '50' }))).idleScanMs).toBe(200);
  });
});

describe('createSpoolSink', () => {
  test('gives a started sink over CRASHMOVER_SPOOL_DIR that moves what it receives', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'spool-create-'));
    const published: string[] = [];
    const unused = { verify: async () => {}, checkHealth: async () => {}, close: async () => {} };
    const storage: CrashStorage = { name: 'S', save: async () => {}, ...unused };
    const publisher: CrashPublisher = { name: 'P', publish: async (id) => void published.push(id), ...unused };
    const sink = await createSpoolSink(loadConfig({ CRASHMOVER_SPOOL_DIR: dir }), storage, publisher, silentLogger, noopMetrics);
    try {
      const id = '00000000-0000-4000-8000-000001261201';
      const c: CrashReport = { crashId: id, rawCrash: { uuid: id }, dumps: new Map() };
      expect(await sink.submit(c)).toBe('saved');
      await waitFor('published', () => published.includes(id), 15_000, 10);
      expect(readdirSync(spoolPaths(dir).tmp)).toEqual([]);
    } finally {
      await sink.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
