import type { Config } from '../shared/config';
import { composeWorker } from './compose';
import { createShutdown, drainOnStop, holdEarlyStop, startListening } from './lifecycle';
import { listenToPrimary, startReporting } from './primary-link';

/**
 * One worker: the HTTP app with its own crashmover pool. Built by
 * compose.ts; this wires it to the primary (primary-link.ts) and to the
 * drain (lifecycle.ts), then listens.
 */
export async function runWorker(config: Config): Promise<void> {
  const early = holdEarlyStop();
  const w = await composeWorker(config);
  startReporting(w.sink, config.cluster.heartbeatIntervalMs);

  const shutdown = createShutdown(w, config.cluster.gracefulTimeoutSeconds);
  listenToPrimary({
    shutdown: () => void shutdown('asked by the primary'),
    fleet: (msg) => {
      w.state.fleet = msg;
      if (msg.spool) w.spool?.updateStats(msg.spool);
    },
    other: (msg) => w.metricsEndpoint?.onMessage(msg),
  });
  drainOnStop(w, shutdown, config.cluster.gracefulTimeoutSeconds);
  const stopBeforeReady = early.release();
  if (stopBeforeReady) {
    await shutdown(stopBeforeReady);
    return;
  }
  await startListening(w, config.server);
}
