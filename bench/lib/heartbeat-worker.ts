/**
 * Worker thread of the heartbeat sampler: probes on its own event loop, so
 * the load generator's busy main thread does not add to the latencies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { probeHeartbeat } from './heartbeat';

const { port, perSecond } = workerData as { port: number; perSecond: number };
const sampler = probeHeartbeat(port, perSecond);
parentPort!.once('message', () => {
  void sampler.stop().then((stats) => parentPort!.postMessage(stats));
});
