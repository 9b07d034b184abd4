import cluster from 'node:cluster';
import type { Config } from '../shared/config';
import { sendIpc } from '../shared/ipc';
import type { ErrorReporter } from '../shared/error-reporting';
import { spoolEnabled } from '../shared/spool';
import { componentLogger, type Logger } from '../shared/logging';
import type { Metrics } from '../shared/metrics';
import { Fleet } from './fleet';
import { Lifecycle } from './lifecycle';
import { workerExecArgv } from './worker-flags';
import { createPrimaryPrometheus } from './prometheus';
import { PrimarySpool } from './spool';
import { Supervisor } from './supervisor';

export interface PrimaryDeps {
  /** Start-up checks run once before any worker forks (config-dependent: rules, backends). */
  verify: (config: Config) => Promise<void>;
  metrics: Metrics;
  /** Start-up failures are reported here before the primary exits. */
  errorReporter?: ErrorReporter;
}

/**
 * The primary: verifies, then wires the Supervisor (forks WORKERS workers and
 * replaces the ones that die, as RestartPolicy decides), the Lifecycle (drain
 * on SIGTERM/SIGINT, rolling reload on SIGHUP), the fleet view and the spool.
 * The only place in the primary that exits the process.
 */
export async function runPrimary(config: Config, rootLogger: Logger, deps: PrimaryDeps): Promise<void> {
  const log = componentLogger(rootLogger, 'antenna.primary');
  const spool = await startupChecks(config, rootLogger, log, deps);

  // Read by node:cluster at the first fork; NODE_CLUSTER_SCHED_POLICY would otherwise decide.
  cluster.schedulingPolicy = config.cluster.schedulingPolicy === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  const execArgv = workerExecArgv(
    { semiSpaceMb: config.cluster.workerSemiSpaceMb, initialOldSpaceMb: config.cluster.workerInitialOldSpaceMb },
    process.execArgv,
    process.env.NODE_OPTIONS,
  );
  if (execArgv !== process.execArgv) cluster.setupPrimary({ execArgv });
  const fleet = new Fleet(config.cluster.heartbeatIntervalMs);
  const prometheus = config.observability.metricsEnabled ? nodePrometheus(config, fleet, spool) : undefined;
  const announceReadyOnce = readyAnnouncer(config, log, () => supervisor.listeningCount());

  const supervisor: Supervisor = new Supervisor(config, log, fleet, {
    listening: announceReadyOnce,
    otherMessage: (msg, reply) => prometheus?.onWorkerMessage(reply, msg),
    gone: (pid) => spool?.workerGone(pid),
    restarted: () => prometheus?.workerRestarted(),
    crashLoopWhileServing: (reason) => deps.errorReporter?.capture(new Error(`workers keep dying at start-up: ${reason}`)),
    giveUp: (reason) => {
      deps.errorReporter?.capture(new Error(`workers keep dying at start-up: ${reason}`));
      void (deps.errorReporter?.flush(2000) ?? Promise.resolve()).finally(() => process.exit(1));
    },
    allExited: () => lifecycle.drained(),
  });
  const lifecycle = new Lifecycle(config, log, supervisor, {
    beforeExit: () => spool?.reportLeftover() ?? Promise.resolve(),
    afterDrain: () => deps.metrics.close(),
    exit: (code) => process.exit(code),
  });

  process.on('SIGTERM', () => lifecycle.drain('SIGTERM'));
  process.on('SIGINT', () => lifecycle.drain('SIGINT'));
  process.on('SIGHUP', () => void lifecycle.reload());

  startHeartbeat(config, log, supervisor, fleet, spool, deps.metrics);

  log.info(`primary ${process.pid} forking ${config.cluster.workers} workers`);
  for (let i = 0; i < config.cluster.workers; i++) supervisor.fork();
}

/** The start-up checks, then the spool's recovery; a failure of either ends the process (exit code 1). */
async function startupChecks(config: Config, rootLogger: Logger, log: Logger, deps: PrimaryDeps): Promise<PrimarySpool | undefined> {
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
  return spool;
}

function nodePrometheus(config: Config, fleet: Fleet, spool: PrimarySpool | undefined) {
  return createPrimaryPrometheus({
    collectTimeoutMs: config.observability.metricsCollectTimeoutMs,
    spool: () => spool?.last,
    workerStates: () => {
      const workers = fleet.view().workers;
      const unresponsive = workers.filter((w) => w.unresponsive).length;
      return { healthy: workers.length - unresponsive, unresponsive };
    },
  });
}

/** "antenna ready" (and PM2's `ready`), once, when every worker of the first start is listening. */
function readyAnnouncer(config: Config, log: Logger, listeningCount: () => number): () => void {
  let announcedReady = false;
  return function maybeAnnounceReady(): void {
    if (announcedReady) return;
    const listening = listeningCount();
    if (listening < config.cluster.workers) return;
    announcedReady = true;
    log.info(`antenna ready: ${listening} workers listening on ${config.server.host}:${config.server.port}`);
    sendIpc(process, 'ready'); // PM2 wait_ready; a parent that went away meanwhile is no reason to stop
  };
}

/**
 * Every HEARTBEAT_INTERVAL: kill stuck workers, send the save-queue gauge, and
 * broadcast the fleet view (with the spool's listing in spool mode) to the workers.
 */
function startHeartbeat(config: Config, log: Logger, supervisor: Supervisor, fleet: Fleet, spool: PrimarySpool | undefined, metrics: Metrics): void {
  let spoolScanError: string | undefined;
  const tick = setInterval(() => {
    supervisor.killStuckWorkers();
    const view = fleet.view();
    metrics.gauge('collector.crashmover.save_queue_size', view.saveQueueSize);
    if (spool) {
      // A listing that fails (the spool directory replaced or unreadable) is logged
      // when it starts and when it ends; the fleet view still goes out every tick.
      void spool.scan().then(
        (spoolView) => {
          if (spoolScanError !== undefined) log.info(`spool: ${config.crashmover.spoolDir} can be listed again`);
          spoolScanError = undefined;
          supervisor.broadcast({ ...view, spool: spoolView }, true);
        },
        (err: Error) => {
          if (spoolScanError !== err.message)
            log.error(`spool: cannot list ${config.crashmover.spoolDir} (${err.message}); check that CRASHMOVER_SPOOL_DIR is a directory this user can read`);
          spoolScanError = err.message;
          supervisor.broadcast(view, true);
        },
      );
    } else {
      supervisor.broadcast(view, true);
    }
  }, config.cluster.heartbeatIntervalMs);
  tick.unref();
}
