import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import { isMessage, sendIpc, type FleetMessage, type ShutdownMessage, type WorkerToPrimary } from '../shared/ipc';
import { componentLogger, createLogger } from '../shared/logging';
import { fanOut } from '../shared/metrics';
import { errorReporterFromConfig, statsdFromConfig } from '../shared/observability';
import { accessLog } from './access-log';
import { createAdminApp, createApp, type OperationsDeps } from './app';
import { createAdminListener } from './admin-listener';
import { exposureFrom, type ListenerRoutes } from './exposure';
import { createPublisher, createStorage } from './backends';
import type { CrashSink } from './crashmover/crash-sink';
import { Crashmover } from './crashmover/crashmover';
import type { SaveFailure } from './crashmover/save-health';
import { spoolEnabled } from '../shared/spool';
import { createSpoolSink } from './spool/create';
import type { SpoolSink } from './spool/spool-sink';
import { HealthMonitor } from './health/health-monitor';
import { createServer, serverSettings } from './server';
import { createMetricsEndpoint } from './metrics/metrics-endpoint';
import { createWorkerPrometheus } from './metrics/prometheus';
import { createThrottler } from './throttler';
import { TurnBudget } from './breakpad/turn-budget';
import { MemoryBudget } from './breakpad/memory-budget';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** To the primary; once it is gone this worker is draining (see 'disconnect' below) and there is nobody to tell. */
function send(msg: WorkerToPrimary): void {
  sendIpc(process, msg);
}

/** One worker: the HTTP app with its own crashmover pool. */
export async function runWorker(config: Config): Promise<void> {
  // A stop can arrive while this worker is still starting (a deploy right
  // after a start): keep it until the handlers below can act on it.
  let stopBeforeReady: string | undefined;
  const early = {
    message: (msg: unknown) => {
      if (isMessage<ShutdownMessage>(msg, 'antenna:shutdown')) stopBeforeReady ??= 'asked by the primary';
    },
    SIGTERM: () => void (stopBeforeReady ??= 'SIGTERM'),
    SIGINT: () => void (stopBeforeReady ??= 'SIGINT'),
  };
  process.on('message', early.message).on('SIGTERM', early.SIGTERM).on('SIGINT', early.SIGINT);

  const logger = createLogger({ level: config.logging.level, localDevEnv: config.server.localDevEnv, hostname: config.server.hostname, asyncStdout: true });
  const log = componentLogger(logger, 'antenna.worker');
  const o = config.observability;
  const statsd = statsdFromConfig(config, logger, 'worker');
  let openUploads = 0;
  const memoryBudget = new MemoryBudget(config.breakpad.workerMemoryBudget, config.crashmover.retryAfterSeconds);
  const prom = o.metricsEnabled
    ? createWorkerPrometheus({ inFlight: (): number => sink.inFlight + openUploads, bodyBytesInMemory: () => memoryBudget.inUse })
    : undefined;
  const metrics = prom ? fanOut(statsd, prom.metrics) : statsd;
  const errorReporter = await errorReporterFromConfig(config, logger, metrics);
  const metricsEndpoint = prom
    ? createMetricsEndpoint({ registry: prom.registry, timeoutMs: config.observability.metricsCollectTimeoutMs + 3000, send })
    : undefined;

  const storage = await createStorage(config, componentLogger(logger, 'antenna.crashstorage'));
  const publisher = await createPublisher(config, componentLogger(logger, 'antenna.crashpublish'));
  const spool = spoolEnabled(config) ? await createSpoolSink(config, storage, publisher, componentLogger(logger, 'antenna.spool'), metrics) : undefined;
  const mover = spool
    ? undefined
    : new Crashmover(
        { ...config.crashmover, probeIntervalMs: config.cluster.healthCheckIntervalSeconds * 1000 },
        storage,
        publisher,
        componentLogger(logger, 'antenna.crashmover'),
        metrics,
      );
  const sink: CrashSink = spool ?? mover!;
  const health = new HealthMonitor(
    [
      // Behind a spool, a storage or publish outage is a warning: crashes are still accepted safely.
      { name: storage.name, check: () => storage.checkHealth(), critical: !spool },
      { name: publisher.name, check: () => publisher.checkHealth(), critical: !spool },
      ...(spool ? [{ name: 'Spool', check: () => spool.checkWritable() }] : []),
    ],
    config.cluster.healthCheckIntervalSeconds * 1000,
    componentLogger(logger, 'antenna.health'),
    config.cluster.healthCheckTimeoutSeconds * 1000,
  );
  await health.start();

  const b = config.breakpad;
  const exposure = exposureFrom(config);
  const operations = (routes: ListenerRoutes): OperationsDeps => ({
    logger: componentLogger(logger, 'antenna.app'),
    metrics,
    errorReporter,
    before: accessLog({ logger: componentLogger(logger, 'antenna.access'), includeClientIp: o.accessLogClientIp }),
    metricsRoute: routes.metrics ? metricsEndpoint?.handler : undefined,
    dockerflow: {
      basedir: config.server.basedir,
      brokenEnabled: routes.broken,
      heartbeatDetails: routes.heartbeatDetails,
      heartbeat: () =>
        heartbeatView(
          health.errors,
          fleet,
          spool && { sink: spool, warnings: health.warnings },
          mover?.saveFailure && { storage: storage.name, failure: mover.saveFailure },
        ),
    },
  });
  const app = createApp({
    ...operations(exposure.public),
    submit: {
      limits: {
        maxPayloadSize: b.maxPayloadSize,
        maxDecompressedSize: b.maxDecompressedSize,
        maxGzipRatio: b.maxGzipRatio,
        maxParts: b.maxParts,
        maxAnnotationSize: b.maxAnnotationSize,
        maxJsonDepth: b.maxJsonDepth,
        dumpField: b.dumpField,
        maxPartHeaderSize: b.maxPartHeaderSize,
        bodyTimeoutMs: b.bodyTimeoutSeconds * 1000,
        minBodyRate: b.minBodyRate,
        minBodyRateWindowMs: b.minBodyRateWindowSeconds * 1000,
        turnBudget: new TurnBudget(b.bytesPerTurn),
        memoryBudget,
      },
      stageSubmitterBearerToken: b.stageSubmitterBearerToken,
      rejectLingerMs: b.rejectLingerSeconds * 1000,
      throttler: createThrottler(config.throttler),
      sink,
      logger: componentLogger(logger, 'antenna.breakpad_resource'),
      metrics,
    },
  });

  let fleet: FleetMessage | undefined;
  const report = () =>
    send({
      type: 'antenna:report',
      pid: process.pid,
      saveQueueSize: sink.queueSize,
      inFlight: sink.inFlight,
    });
  // Report once now, before listening: the primary counts a worker silent for
  // three intervals since its fork as unresponsive, and start-up alone can
  // take that long — the node would answer 503 for an interval after ready.
  report();
  const reporter = setInterval(report, config.cluster.heartbeatIntervalMs);
  reporter.unref();

  let shuttingDown = false;
  const server: Server = createServer(serverSettings(config), (req, res) => {
    if (shuttingDown) res.setHeader('Connection', 'close');
    if (req.method === 'POST') {
      openUploads++;
      res.once('close', () => openUploads--);
    }
    app(req, res);
  });
  const admin = exposure.admin && createAdminListener(config, exposure.admin, createAdminApp(operations(exposure.admin)), () => shuttingDown);
  let dropsLogged = 0;
  server.on('drop', () => {
    metrics.incr('collector.connection_dropped');
    // A flood drops many: one line a minute is enough to say so.
    if (Date.now() - dropsLogged < 60_000) return;
    dropsLogged = Date.now();
    log.warn(`closed a new connection: this worker has MAX_CONNECTIONS_PER_WORKER (${config.server.maxConnectionsPerWorker}) open`);
  });

  async function shutdown(reason: string, exitCode = 0): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`shutting down (${reason}): finishing ${sink.inFlight + sink.queueSize} queued crashes and open uploads`);
    health.stop();
    // The reporter keeps running: the primary sees the save queue go down, and
    // a silent worker would be taken for a stuck one (WORKER_TIMEOUT).
    const closed = [server, admin?.server].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve())));
    server.closeIdleConnections();
    admin?.server.closeIdleConnections();
    await Promise.all(closed);
    if (spool) {
      // Spooled crashes are durable: keep moving them while there is time, then leave the rest for the next start.
      const budgetMs = Math.max(500, config.cluster.gracefulTimeoutSeconds * 1000 - 1500);
      const drained = await Promise.race([sink.drain().then(() => true), sleep(budgetMs).then(() => false)]);
      if (!drained) log.warn(`stopping with crashes still in the spool after ${budgetMs} ms; they will be moved on the next start`);
      await spool.stop();
    } else {
      await sink.drain();
    }
    prom?.close();
    await Promise.allSettled([storage.close(), publisher.close(), metrics.close(), errorReporter.flush(2000)]);
    log.info('shutdown complete');
    await Promise.race([logger.flush(), sleep(2000)]);
    process.exit(exitCode);
  }

  process.on('message', (msg: unknown) => {
    if (isMessage<ShutdownMessage>(msg, 'antenna:shutdown')) void shutdown('asked by the primary');
    else if (isMessage<FleetMessage>(msg, 'antenna:fleet')) {
      fleet = msg;
      if (msg.spool) spool?.updateStats(msg.spool);
    } else metricsEndpoint?.onMessage(msg);
  });
  // systemd and terminals signal the whole process group: drain as the primary would ask.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  /**
   * A drain nobody supervises: the primary kills only workers it asked to
   * stop, so this one must end itself within GRACEFUL_TIMEOUT even if the
   * drain sticks.
   */
  function shutdownUnsupervised(reason: string, exitCode: number): void {
    setTimeout(() => process.exit(exitCode), config.cluster.gracefulTimeoutSeconds * 1000).unref();
    void shutdown(reason, exitCode);
  }
  process.on('uncaughtException', (thrown: unknown) => {
    const err = thrown instanceof Error ? thrown : new Error(`non-Error thrown: ${String(thrown)}`);
    log.error('Unhandled exception', { error: err.message, stack: err.stack });
    errorReporter.capture(err);
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
  process.off('message', early.message).off('SIGTERM', early.SIGTERM).off('SIGINT', early.SIGINT);
  if (stopBeforeReady) {
    await shutdown(stopBeforeReady);
    return;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, an error here is a failed accept (libuv absorbs EMFILE itself by
  // closing the connection); the server keeps listening, so log it, don't end the worker.
  server.on('error', (err: NodeJS.ErrnoException) => log.error(`server error while accepting connections: ${err.code ?? err.message}`));
  const addr = server.address() as AddressInfo;
  log.info(`worker ${process.pid} listening on ${config.server.tlsCertFile ? 'https' : 'http'}://${addr.address}:${addr.port}`);
  await admin?.listen(log);
  await logger.flush(); // so that this line comes before the primary's "antenna ready"
  send({ type: 'antenna:listening' });
}

/** `/__heartbeat__`: this worker's backend checks plus the fleet view from the primary. */
export function heartbeatView(
  errors: Array<{ name: string; msg: string }>,
  fleet: FleetMessage | undefined,
  spool?: { sink: SpoolSink; warnings: Array<{ name: string; msg: string }> },
  saves?: { storage: string; failure: SaveFailure },
) {
  const all = [...errors];
  if (saves) all.push(saveFailureError(saves.storage, saves.failure));
  if (fleet && fleet.workers.length > 0 && fleet.workers.every((w) => w.unresponsive)) {
    all.push({ name: 'Fleet', msg: 'no worker has reported to the primary in the last 3 heartbeat intervals' });
  }
  if (spool?.sink.isFull()) {
    all.push({ name: 'Spool', msg: 'the spool is full (CRASHMOVER_SPOOL_MAX_BYTES): new crashes are refused with 503' });
  }
  return {
    ...(spool && { spool: spoolHeartbeat(spool.sink, spool.warnings, fleet) }),
    errors: all,
    workers: (fleet?.workers ?? []).map(({ pid, save_queue_size, in_flight, last_report_ms, unresponsive }) => ({
      pid,
      save_queue_size,
      in_flight,
      last_report_ms,
      unresponsive,
    })),
    save_queue_size: fleet?.saveQueueSize ?? 0,
  };
}

/** Saves are failing (without a spool): the heartbeat says since when and why, so a balancer stops sending crashes. */
export function saveFailureError(storage: string, f: SaveFailure, now = Date.now()): { name: string; msg: string } {
  const seconds = Math.round((now - f.since) / 1000);
  return {
    name: storage,
    msg: `saves have been failing for ${seconds} s (${f.kind}, ${f.crashes} crashes): ${f.message}; new crashes get 503 with Retry-After until storage works again`,
  };
}

function spoolHeartbeat(sink: SpoolSink, warnings: Array<{ name: string; msg: string }>, fleet: FleetMessage | undefined) {
  const view = fleet?.spool;
  const outage = sink.outageSince;
  return {
    // null until the primary's first listing reaches this worker: 0 would tell a monitor a full spool is empty.
    crashes: view?.crashes ?? null,
    bytes: sink.usedBytes(),
    max_bytes: view?.maxBytes,
    oldest_age_seconds: view?.oldestSpooledAt === undefined ? 0 : Math.round((Date.now() - view.oldestSpooledAt) / 1000),
    storage_failing_seconds: outage === undefined ? undefined : Math.round((Date.now() - outage) / 1000),
    backends: warnings,
  };
}
