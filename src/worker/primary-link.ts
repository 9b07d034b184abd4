import { isMessage, sendIpc, type FleetMessage, type ShutdownMessage, type WorkerToPrimary } from '../shared/ipc';
import type { CrashSink } from './crashmover/crash-sink';

/** To the primary; once it is gone this worker is draining (see lifecycle.ts) and there is nobody to tell. */
export function sendToPrimary(msg: WorkerToPrimary): void {
  sendIpc(process, msg);
}

/**
 * Reports the save queue to the primary now and every `intervalMs` until the
 * process exits, drain included: the primary sees the queue go down, and a
 * silent worker would be taken for a stuck one (WORKER_TIMEOUT).
 */
export function startReporting(sink: CrashSink, intervalMs: number): void {
  const report = () =>
    sendToPrimary({
      type: 'antenna:report',
      pid: process.pid,
      saveQueueSize: sink.queueSize,
      inFlight: sink.inFlight,
    });
  // Report once now, before listening: the primary counts a worker silent for
  // three intervals since its fork as unresponsive, and start-up alone can
  // take that long — the node would answer 503 for an interval after ready.
  report();
  const reporter = setInterval(report, intervalMs);
  reporter.unref();
}

export interface PrimaryMessageHandlers {
  shutdown(): void;
  fleet(msg: FleetMessage): void;
  /** Every other message (the Prometheus exchange). */
  other(msg: unknown): void;
}

/** Routes the primary's messages to this worker's handlers. */
export function listenToPrimary(on: PrimaryMessageHandlers): void {
  process.on('message', (msg: unknown) => {
    if (isMessage<ShutdownMessage>(msg, 'antenna:shutdown')) on.shutdown();
    else if (isMessage<FleetMessage>(msg, 'antenna:fleet')) on.fleet(msg);
    else on.other(msg);
  });
}
