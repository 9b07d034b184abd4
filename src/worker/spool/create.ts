import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import type { Metrics } from '../../shared/metrics';
import { configuredSpoolPaths, resolveSpoolLimit } from '../../shared/spool';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import { SpoolSink, type SpoolOptions } from './spool-sink';

/**
 * The spool's options from CRASHMOVER_*, for a worker's sink and the `spool`
 * tool alike. A worker claims up to CRASHMOVER_MAX_QUEUE_SIZE of the crashes
 * it receives (docs/spool.md); the tool receives none, so the bound does not
 * change what it does. A worker looks at `ready/` again every heartbeat at
 * most, which the tool, with no heartbeat and in a hurry to finish, shortens.
 */
export async function spoolOptions(config: Config, overrides: Partial<Pick<SpoolOptions, 'idleScanMs'>> = {}): Promise<SpoolOptions> {
  const c = config.crashmover;
  const paths = configuredSpoolPaths(config);
  return {
    paths,
    maxBytes: await resolveSpoolLimit(c.spoolMaxBytes, paths),
    maxAgeMs: c.spoolMaxAgeSeconds * 1000,
    concurrentMovers: c.concurrentCrashmovers,
    maxClaimed: Math.max(c.maxQueueSize, c.concurrentCrashmovers),
    backoffBaseMs: Math.max(100, c.retrySleepSeconds * 1000),
    backoffMaxMs: c.spoolMaxBackoffSeconds * 1000,
    retryAfterSeconds: c.retryAfterSeconds,
    idleScanMs: Math.max(200, config.cluster.heartbeatIntervalMs),
    ...overrides,
  };
}

/** The spool sink of one worker, configured from CRASHMOVER_* and started. */
export async function createSpoolSink(config: Config, storage: CrashStorage, publisher: CrashPublisher, logger: Logger, metrics: Metrics): Promise<SpoolSink> {
  const sink = new SpoolSink(await spoolOptions(config), storage, publisher, logger, metrics);
  await sink.start();
  return sink;
}
