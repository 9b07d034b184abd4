import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import { spoolOptions } from '../../../src/worker/spool/create';

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
});
