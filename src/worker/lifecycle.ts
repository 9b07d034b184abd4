import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import { isMessage, type ShutdownMessage } from '../shared/ipc';
import type { WorkerParts } from './compose';
import { sendToPrimary } from './primary-link';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export type Shutdown = (reason: string, exitCode?: number) => Promise<void>;

/**
 * A stop can arrive while this worker is still starting (a deploy right after
 * a start): keep it until the worker's own handlers can act on it. `release`
 * removes the holding handlers (install the real ones first) and says why the
 * worker was asked to stop, if it was.
 */
export function holdEarlyStop(): { release(): string | undefined } {
  let stopBeforeReady: string | undefined;
  const early = {
    message: (msg: unknown) => {
      if (isMessage<ShutdownMessage>(msg, 'antenna:shutdown')) stopBeforeReady ??= 'asked by the primary';
    },
    SIGTERM: () => void (stopBeforeReady ??= 'SIGTERM'),
    SIGINT: () => void (stopBeforeReady ??= 'SIGINT'),
  };
  process.on('message', early.message).on('SIGTERM', early.SIGTERM).on('SIGINT', early.SIGINT);
  return {
    release() {
      process.off('message', early.message).off('SIGTERM', early.SIGTERM).off('SIGINT', early.SIGINT);
      return stopBeforeReady;
    },
  };
}

/**
 * The drain: stop accepting, finish (or, with a spool, leave durably) the
 * crashes already accepted, close the backends, exit. Runs once; later calls
 * return at once.
 */
export function createShutdown(w: WorkerParts, gracefulTimeoutSeconds: number): Shutdown {
  const { state, log, sink, spool, server, admin } = w;
  return async function shutdown(reason, exitCode = 0) {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    log.info(`shutting down (${reason}): finishing ${sink.inFlight + sink.queueSize} queued crashes and open uploads`);
    w.health.stop();
    // The reporter keeps running: the primary sees the save queue go down, and
    // a silent worker would be taken for a stuck one (WORKER_TIMEOUT).
    const closed = [server, admin?.server].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve())));
    server.closeIdleConnections();
    admin?.server.closeIdleConnections();
    await Promise.all(closed);
    if (spool) {
      // Spooled crashes are durable: keep moving them while there is time, then leave the rest for the next start.
      const budgetMs = Math.max(500, gracefulTimeoutSeconds * 1000 - 1500);
      const drained = await Promise.race([sink.drain().then(() => true), sleep(budgetMs).then(() => false)]);
      if (!drained) log.warn(`stopping with crashes still in the spool after ${budgetMs} ms; they will be moved on the next start`);
      await spool.stop();
    } else {
      await sink.drain();
    }
    w.prom?.close();
    await Promise.allSettled([w.storage.close(), w.publisher.close(), w.metrics.close(), w.errorReporter.flush(2000)]);
    log.info('shutdown complete');
    await Promise.race([w.flushLogs(), sleep(2000)]);
    process.exit(exitCode);
  };
}

/** Signals, an unhandled exception, and the loss of the primary all end in the drain. */
export function drainOnStop(w: WorkerParts, shutdown: Shutdown, gracefulTimeoutSeconds: number): void {
  const { log } = w;
  // systemd and terminals signal the whole process group: drain as the primary would ask.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  /**
   * A drain nobody supervises: the primary kills only workers it asked to
   * stop, so this one must end itself within GRACEFUL_TIMEOUT even if the
   * drain sticks.
   */
  function shutdownUnsupervised(reason: string, exitCode: number): void {
    setTimeout(() => process.exit(exitCode), gracefulTimeoutSeconds * 1000).unref();
    void shutdown(reason, exitCode);
  }
  process.on('uncaughtException', (thrown: unknown) => {
    const err = thrown instanceof Error ? thrown : new Error(`non-Error thrown: ${String(thrown)}`);
    log.error('Unhandled exception', { error: err.message, stack: err.stack });
    w.errorReporter.capture(err);
    shutdownUnsupervised('unhandled exception', 1);
  });
  // node:cluster ends a worker at once when the primary's channel closes (the
  // primary was killed), which would lose the crashes this worker acknowledged
  // but has not saved. Marking the disconnect as expected (read by node:cluster
  // right after this event) lets the worker drain first, as on SIGTERM; the
  // listening socket closes at the start of the drain, so a restarted primary
  // can bind the port.
  cluster.worker?.once('disconnect', () => {
    cluster.worker!.exitedAfterDisconnect = true;
    log.error('the primary is gone: draining, then exiting');
    shutdownUnsupervised('the primary is gone', 1);
  });
}

/** Binds PORT (then ADMIN_PORT) and tells the primary this worker is listening. */
export async function startListening(w: WorkerParts, server: Config['server']): Promise<void> {
  const { log } = w;
  await new Promise<void>((resolve, reject) => {
    w.server.once('error', reject);
    w.server.listen(server.port, server.host, () => {
      w.server.off('error', reject);
      resolve();
    });
  });
  // Once listening, an error here is a failed accept (libuv absorbs EMFILE itself by
  // closing the connection); the server keeps listening, so log it, don't end the worker.
  w.server.on('error', (err: NodeJS.ErrnoException) => log.error(`server error while accepting connections: ${err.code ?? err.message}`));
  const addr = w.server.address() as AddressInfo;
  log.info(`worker ${process.pid} listening on ${server.tlsCertFile ? 'https' : 'http'}://${addr.address}:${addr.port}`);
  await w.admin?.listen(log);
  await w.flushLogs(); // so that this line comes before the primary's "antenna ready"
  sendToPrimary({ type: 'antenna:listening' });
}
