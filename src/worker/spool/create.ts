import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import type { Metrics } from '../../shared/metrics';
import { configuredSpoolPaths, resolveSpoolLimit } from '../../shared/spool';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import { SpoolSink } from './spool-sink';

/** The spool sink of one worker, configured from CRASHMOVER_* and started. */
export async function createSpoolSink(config: Config, storage: CrashStorage, publisher: CrashPublisher, logger: Logger, metrics: Metrics): Promise<SpoolSink> {
  const c = config.crashmover;
  const paths = configuredSpoolPaths(config);
  const sink = new SpoolSink(
    {
      paths,
      maxBytes: await resolveSpoolLimit(c.spoolMaxBytes, paths),
      maxAgeMs: c.spoolMaxAgeSeconds * 1000,
      concurrentMovers: c.concurrentCrashmovers,
      maxClaimed: Math.max(c.maxQueueSize, c.concurrentCrashmovers),
      backoffBaseMs: Math.max(100, c.retrySleepSeconds * 1000),
      backoffMaxMs: c.spoolMaxBackoffSeconds * 1000,
      retryAfterSeconds: c.retryAfterSeconds,
      idleScanMs: Math.max(200, config.cluster.heartbeatIntervalMs),
    },
    storage,
    publisher,
    logger,
    metrics,
  );
  await sink.start();
  return sink;
}
