import type { SpoolPaths } from '../../src/shared/spool/layout';
import type { SpoolOptions } from '../../src/worker/spool/spool-sink';

/** Spool options for unit tests: a roomy budget, no expiry, one mover, short back-offs and idle scans; `over` sets what a test is about. */
export function testSpoolOptions(paths: SpoolPaths, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    paths,
    maxBytes: 100 * 1024 * 1024,
    maxAgeMs: 0,
    concurrentMovers: 1,
    maxClaimed: 100,
    backoffBaseMs: 20,
    backoffMaxMs: 40,
    retryAfterSeconds: 7,
    idleScanMs: 20,
    ...over,
  };
}
