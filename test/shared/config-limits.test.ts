import { ConfigError, loadConfig } from '../../src/shared/config';

describe('request-path limits in the configuration', () => {
  it('defaults: 50 MiB inflated, ratio 100, 256 MiB per worker, 1 KiB/s over 30 s, 1000 connections', () => {
    const c = loadConfig({});
    expect([c.breakpad.maxDecompressedSize, c.breakpad.maxGzipRatio, c.breakpad.workerMemoryBudget]).toEqual([50 << 20, 100, 256 << 20]);
    expect([c.breakpad.minBodyRate, c.breakpad.minBodyRateWindowSeconds, c.server.maxConnectionsPerWorker]).toEqual([1024, 30, 1000]);
  });

  it('refuses a memory budget smaller than the largest crash it would have to hold', () => {
    let problems: string[] = [];
    try {
      loadConfig({ BREAKPAD_WORKER_MEMORY_BUDGET: '33554432' });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual([
      'BREAKPAD_WORKER_MEMORY_BUDGET=33554432 is invalid: expected a value ≥ BREAKPAD_MAX_DECOMPRESSED_SIZE (52428800), or the largest crash accepted could never fit.',
    ]);
  });
});
