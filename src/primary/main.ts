import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../shared/config';
import {
  isMessage,
  sendIpc,
  type ListeningMessage,
  type PrimaryToWorker,
  type StartupFailedMessage,
  type WorkerReport,
} from '../shared/ipc';
import type { ErrorReporter } from '../shared/error-reporting';
import { spoolEnabled } from '../shared/spool';
import { componentLogger, type Logger } from '../shared/logging';
import type { Metrics } from '../shared/metrics';
import { Fleet } from './fleet';
import { createPrimaryPrometheus } from './prometheus';
import { RestartPolicy } from './restart-policy';
import { PrimarySpool } from './spool';

export interface PrimaryDeps {
  /** Start-up checks run once before any worker forks (config-dependent: rules, backends). */
  verify: (config: Config) => Promise<void>;
  metrics: Metrics;
  /** Called with every worker report and the fleet view, e.g. to aggregate metrics. */
  onReport?: (report: WorkerReport) => void;
  /** Start-up failures are reported here before the primary exits. */
  errorReporter?: ErrorReporter;
}

interface Tracked {
  worker: Worker;
  listening: boolean;
  retiring: boolean;
  /** Killed for WORKER_TIMEOUT; its exit is on its way. */
  timedOut?: boolean;
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function describeError(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

/**
 * The cluster supervisor: verifies, forks WORKERS workers, replaces the ones
 * that die (as RestartPolicy decides: at once if they were serving; a crash
 * loop with none serving ends the primary), drains on SIGTERM/SIGINT and
 * replaces workers one at a time on SIGHUP.
 */
export async function runPrimary(config: Config, rootLogger: Logger, deps: PrimaryDeps): Promise<void> {
  const log = componentLogger(rootLogger, 'antenna.primary');
  try {
    await deps.verify(config);
  } catch (err) {
    log.error(`Unhandled startup exception: ${(err as Error).message}`);
    deps.errorReporter?.capture(err);
    await deps.errorReporter?.flush(2000);
    process.exit(1);
  }

  const spool = spoolEnabled(config) ? new PrimarySpool(config, componentLogger(rootLogger, 'antenna.spool'), deps.metrics) : undefined;
  try {
    await spool?.recover();
  } catch (err) {
    log.error(`Unhandled startup exception: cannot use the spool CRASHMOVER_SPOOL_DIR=${config.crashmover.spoolDir}: ${(err as Error).message}`);
    process.exit(1);
  }

  // Read by node:cluster at the first fork; NODE_CLUSTER_SCHED_POLICY would otherwise decide.
  cluster.schedulingPolicy = config.cluster.schedulingPolicy === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  const tracked = new Map<number, Tracked>();
  const fleet = new Fleet(config.cluster.heartbeatIntervalMs);
  const maxBackoffMs = config.cluster.restartMaxBackoffSeconds * 1000;
  const restarts = new RestartPolicy({
    maxBackoffMs,
    crashLoopDeaths: config.cluster.crashLoopDeaths,
    crashLoopWindowMs: config.cluster.crashLoopWindowSeconds * 1000,
  });
  /** The crash loop while others serve goes to the error reporter once, until a worker listens again. */
  let crashLoopReported = false;
  const prometheus = config.observability.metricsEnabled
    ? createPrimaryPrometheus({
        collectTimeoutMs: config.observability.metricsCollectTimeoutMs,
        spool: () => spool?.last,
        workerStates: () => {
          const workers = fleet.view().workers;
          const unresponsive = workers.filter((w) => w.unresponsive).length;
          return { healthy: workers.length - unresponsive, unresponsive };
        },
      })
    : undefined;
  let lastStartupFailure: string | undefined;
  let shuttingDown = false;
  /** Exiting 1 after a crash loop: the workers killed meanwhile must not turn it into a clean stop (exit 0). */
  let givingUp = false;
  let reloading = false;
  let announcedReady = false;

  /** A worker can die while a message is on its way: that is logged, never fatal to the primary. */
  const sendTo = (worker: Worker, msg: PrimaryToWorker) =>
    sendIpc(worker.process, msg, (err) => log.warn(`message ${msg.type} to worker ${worker.process.pid} not delivered (${describeError(err)}); the worker is exiting`));
  /**
   * To every worker; with `responsiveOnly`, not to those that stopped reading
   * their channel, for which node would queue every message (the periodic fleet view).
   */
  const broadcast = (msg: PrimaryToWorker, responsiveOnly = false) => {
    for (const { worker } of tracked.values()) {
      if (!responsiveOnly || !fleet.isUnresponsive(worker.process.pid!)) sendTo(worker, msg);
    }
  };

  /** gunicorn's worker timeout: a worker whose event loop is stuck never reports, and never serves. */
  function killStuckWorkers(): void {
    const { workerTimeoutSeconds, workerStartTimeoutSeconds } = config.cluster;
    if (workerTimeoutSeconds === 0 || shuttingDown) return;
    for (const t of tracked.values()) {
      const pid = t.worker.process.pid!;
      const silentMs = fleet.silentForMs(pid);
      // Loading modules and checking backends can keep a starting worker quiet for a while.
      const limitSeconds = t.listening ? workerTimeoutSeconds : Math.max(workerTimeoutSeconds, workerStartTimeoutSeconds);
      if (t.retiring || t.timedOut || silentMs <= limitSeconds * 1000) continue;
      t.timedOut = true;
      const setting = t.listening ? `WORKER_TIMEOUT=${workerTimeoutSeconds}` : `not listening yet, WORKER_START_TIMEOUT=${workerStartTimeoutSeconds}`;
      log.error(`worker ${pid} has not reported for ${Math.round(silentMs / 1000)} s (${setting}): its event loop is stuck; killing it`);
      t.worker.process.kill('SIGKILL');
    }
  }

  function fork(): Tracked {
    const worker = cluster.fork();
    // Every send goes through sendTo; this keeps any other error (a failed spawn, a
    // failed kill) from killing the primary.
    worker.on('error', (err: Error) => log.warn(`worker ${worker.process.pid ?? '(not started)'}: ${describeError(err)}`));
    if (worker.process.pid === undefined) {
      // EAGAIN/EMFILE/ENFILE: node reports the spawn failure as an 'error' (logged) and never as an exit.
      throw new Error('no worker process could be started: check the process and open-file limits (ulimit -u, ulimit -n)');
    }
    const t: Tracked = { worker, listening: false, retiring: false };
    tracked.set(worker.id, t);
    fleet.add(worker.process.pid);
    worker.on('message', (msg: unknown) => {
      if (isMessage<ListeningMessage>(msg, 'antenna:listening')) {
        t.listening = true;
        crashLoopReported = false;
        maybeAnnounceReady();
      } else if (isMessage<WorkerReport>(msg, 'antenna:report')) {
        fleet.record(msg);
        deps.onReport?.(msg);
      } else if (isMessage<StartupFailedMessage>(msg, 'antenna:startup-failed')) {
        lastStartupFailure = msg.reason;
      } else {
        prometheus?.onWorkerMessage((reply) => sendTo(worker, reply), msg);
      }
    });
    return t;
  }

  /** fork() throws for spawn errors such as ENOMEM; the primary must outlive them. */
  function tryFork(): Tracked | Error {
    try {
      return fork();
    } catch (err) {
      return err as Error;
    }
  }

  function listeningCount(): number {
    let n = 0;
    for (const t of tracked.values()) if (t.listening && !t.retiring && !t.timedOut) n++;
    return n;
  }

  function maybeAnnounceReady(): void {
    if (announcedReady) return;
    const listening = listeningCount();
    if (listening < config.cluster.workers) return;
    announcedReady = true;
    log.info(`antenna ready: ${listening} workers listening on ${config.server.host}:${config.server.port}`);
    sendIpc(process, 'ready'); // PM2 wait_ready; a parent that went away meanwhile is no reason to stop
  }

  function waitListening(t: Tracked, timeoutMs: number): Promise<boolean> {
    if (t.listening) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onMsg = (msg: unknown) => isMessage<ListeningMessage>(msg, 'antenna:listening') && done(true);
      const onExit = () => done(false);
      function done(ok: boolean) {
        clearTimeout(timer);
        t.worker.off('message', onMsg);
        t.worker.off('exit', onExit);
        resolve(ok);
      }
      t.worker.on('message', onMsg);
      t.worker.on('exit', onExit);
    });
  }

  function waitExit(t: Tracked): Promise<void> {
    if (t.worker.isDead()) return Promise.resolve();
    return new Promise((resolve) => t.worker.once('exit', () => resolve()));
  }

  /** Asks a worker to drain and exit; kills it after GRACEFUL_TIMEOUT. */
  async function retire(t: Tracked): Promise<void> {
    t.retiring = true;
    sendTo(t.worker, { type: 'antenna:shutdown' });
    const timer = setTimeout(() => {
      log.error(`worker ${t.worker.process.pid} did not drain within ${config.cluster.gracefulTimeoutSeconds} s; killing it`);
      t.worker.process.kill('SIGKILL');
    }, config.cluster.gracefulTimeoutSeconds * 1000);
    await waitExit(t);
    clearTimeout(timer);
  }

  cluster.on('exit', (worker, code, signal) => {
    const t = tracked.get(worker.id);
    tracked.delete(worker.id);
    fleet.remove(worker.process.pid!);
    spool?.workerGone(worker.process.pid!);
    const how = describeExit(code, signal);
    if (shuttingDown || t?.retiring) {
      log.info(`worker ${worker.process.pid} exited (${how})`);
      if (shuttingDown && !givingUp && tracked.size === 0) finishShutdown();
      return;
    }
    const verdict = restarts.onDeath({ at: Date.now(), wasListening: t?.listening ?? false, othersListening: listeningCount() });
    const next =
      verdict.kind !== 'replace' ? '' : verdict.delayMs === 0 ? '; it was serving: replacing it at once' : `; it had not listened yet (${verdict.startupDeaths} such deaths within ${config.cluster.crashLoopWindowSeconds} s): replacing it in ${verdict.delayMs} ms`;
    if (code === 0 && !signal) {
      // It drained and left by itself: a SIGTERM sent to the worker rather than to the primary.
      log.warn(`worker ${worker.process.pid} stopped on its own after draining (${how}; signal the primary to stop the node)${next}`);
    } else {
      log.error(`worker ${worker.process.pid} died unexpectedly (${how})${next}`);
    }
    prometheus?.workerRestarted();
    if (verdict.kind === 'crash-loop-give-up') {
      giveUp(`${verdict.startupDeaths} deaths within ${config.cluster.crashLoopWindowSeconds} s; last: ${how}`);
      return;
    }
    if (verdict.kind === 'crash-loop-serving') {
      // Never kill or abandon workers that serve: a new worker that cannot start
      // (a full disk, a limit, a backend gone since the others started) is no
      // reason to refuse clients the others can serve.
      log.error(
        `workers keep dying at start-up (${verdict.startupDeaths} deaths within ${config.cluster.crashLoopWindowSeconds} s; last: ${how}` +
          (lastStartupFailure ? `; reason: ${lastStartupFailure}` : '') +
          `); the ${listeningCount()} listening workers keep serving; trying again every ${config.cluster.restartMaxBackoffSeconds} s (WORKER_RESTART_MAX_BACKOFF)`,
      );
      if (!crashLoopReported) deps.errorReporter?.capture(new Error(`workers keep dying at start-up: ${lastStartupFailure ?? how}`));
      crashLoopReported = true;
    }
    const diedAt = Date.now();
    const replace = () => {
      if (shuttingDown) return;
      const replacement = tryFork();
      if (replacement instanceof Error) {
        log.error(`cannot fork a replacement for worker ${worker.process.pid} (${describeError(replacement)}); trying again in ${config.cluster.restartMaxBackoffSeconds} s`);
        setTimeout(replace, maxBackoffMs);
      } else {
        log.info(`replaced worker ${worker.process.pid} with worker ${replacement.worker.process.pid} after ${Date.now() - diedAt} ms`);
      }
    };
    if (verdict.delayMs === 0) replace();
    else setTimeout(replace, verdict.delayMs);
  });

  /** The node cannot start workers and none serves: exit 1 with the reason, so the supervisor above sees it. */
  function giveUp(counts: string): void {
    log.error(`Unhandled startup exception: workers keep dying at start-up (${counts}` + (lastStartupFailure ? `; reason: ${lastStartupFailure}` : '') + '); giving up');
    shuttingDown = true;
    givingUp = true;
    // Only workers that never listened: they hold no acknowledged crash. One
    // that did (draining for a reload) drains on its own once the primary is gone.
    for (const other of tracked.values()) if (!other.listening) other.worker.process.kill('SIGKILL');
    deps.errorReporter?.capture(new Error(`workers keep dying at start-up: ${lastStartupFailure ?? counts}`));
    void (deps.errorReporter?.flush(2000) ?? Promise.resolve()).finally(() => process.exit(1));
  }

  let shutdownTimer: NodeJS.Timeout | undefined;
  function finishShutdown(): void {
    clearTimeout(shutdownTimer);
    log.info('all workers have exited; primary exiting');
    void (spool?.reportLeftover() ?? Promise.resolve())
      .then(() => deps.metrics.close())
      .finally(() => process.exit(0));
  }

  function shutdown(signal: string): void {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`${signal} received: draining ${tracked.size} workers (up to ${config.cluster.gracefulTimeoutSeconds} s)`);
    broadcast({ type: 'antenna:shutdown' });
    if (tracked.size === 0) finishShutdown();
    shutdownTimer = setTimeout(() => {
      const left = [...tracked.values()];
      log.error(`GRACEFUL_TIMEOUT reached: killing ${left.length} workers that have not drained`);
      for (const t of left) t.worker.process.kill('SIGKILL');
      void (spool?.reportLeftover() ?? Promise.resolve()).finally(() => process.exit(1));
    }, config.cluster.gracefulTimeoutSeconds * 1000);
  }

  async function reload(): Promise<void> {
    if (reloading || shuttingDown) return;
    reloading = true;
    const old = [...tracked.values()];
    log.info(`SIGHUP received: replacing ${old.length} workers one at a time`);
    try {
      for (const t of old) {
        if (shuttingDown) return;
        if (t.worker.isDead()) continue;
        const next = tryFork();
        if (next instanceof Error) {
          log.error(`reload stopped: cannot fork a new worker (${describeError(next)}); old workers keep serving`);
          return;
        }
        if (!(await waitListening(next, config.cluster.workerStartTimeoutSeconds * 1000))) {
          log.error(`reload stopped: new worker ${next.worker.process.pid} did not start listening within WORKER_START_TIMEOUT=${config.cluster.workerStartTimeoutSeconds} s; old workers keep serving`);
          return;
        }
        await retire(t);
      }
      log.info('reload complete');
    } finally {
      reloading = false;
    }
  }

  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => void reload());

  let spoolScanError: string | undefined;
  const tick = setInterval(() => {
    killStuckWorkers();
    const view = fleet.view();
    deps.metrics.gauge('collector.crashmover.save_queue_size', view.saveQueueSize);
    if (spool) {
      // A listing that fails (the spool directory replaced or unreadable) is logged
      // when it starts and when it ends; the fleet view still goes out every tick.
      void spool.scan().then(
        (spoolView) => {
          if (spoolScanError !== undefined) log.info(`spool: ${config.crashmover.spoolDir} can be listed again`);
          spoolScanError = undefined;
          broadcast({ ...view, spool: spoolView }, true);
        },
        (err: Error) => {
          if (spoolScanError !== err.message) log.error(`spool: cannot list ${config.crashmover.spoolDir} (${err.message}); check that CRASHMOVER_SPOOL_DIR is a directory this user can read`);
          spoolScanError = err.message;
          broadcast(view, true);
        },
      );
    } else {
      broadcast(view, true);
    }
  }, config.cluster.heartbeatIntervalMs);
  tick.unref();

  log.info(`primary ${process.pid} forking ${config.cluster.workers} workers`);
  for (let i = 0; i < config.cluster.workers; i++) fork();
}
