import type { Server } from 'node:http';
import type { Config } from '../shared/config';
import type { ErrorReporter } from '../shared/error-reporting';
import type { FleetMessage } from '../shared/ipc';
import { componentLogger, createLogger, type Logger } from '../shared/logging';
import { fanOut, type Metrics } from '../shared/metrics';
import { errorReporterFromConfig, statsdFromConfig } from '../shared/observability';
import { spoolEnabled } from '../shared/spool';
import { accessLog } from './access-log';
import { createAdminListener, type AdminListener } from './admin-listener';
import { createAdminApp, createApp, type AppDeps, type OperationsDeps } from './app';
import { createPublisher, createStorage } from './backends';
import { MallocRetention } from './breakpad/malloc-retention';
import { MemoryBudget } from './breakpad/memory-budget';
import { TurnBudget } from './breakpad/turn-budget';
import type { CrashSink } from './crashmover/crash-sink';
import { Crashmover } from './crashmover/crashmover';
import { exposureFrom, type ListenerRoutes } from './exposure';
import { HealthMonitor } from './health/health-monitor';
import { heartbeatView } from './health/heartbeat-view';
import { createMetricsEndpoint, type MetricsEndpoint } from './metrics/metrics-endpoint';
import { createWorkerPrometheus, type WorkerPrometheusOptions } from './metrics/prometheus';
import { sendToPrimary } from './primary-link';
import type { CrashPublisher } from './publish/crash-publisher';
import { createServer, serverSettings } from './server';
import { createSpoolSink } from './spool/create';
import type { SpoolSink } from './spool/spool-sink';
import type { CrashStorage } from './storage/crash-storage';
import { createThrottler } from './throttler';

/** What changes while the worker runs, read by its handlers. */
export interface WorkerState {
  shuttingDown: boolean;
  /** The primary's last fleet view, for `/__heartbeat__`. */
  fleet: FleetMessage | undefined;
  /** `POST` requests whose response has not closed yet. */
  openUploads: number;
}

interface Telemetry {
  metrics: Metrics;
  prom: ReturnType<typeof createWorkerPrometheus> | undefined;
  errorReporter: ErrorReporter;
  metricsEndpoint: MetricsEndpoint | undefined;
}

/** Where an accepted crash goes: straight to storage (the crashmover) or through the spool. */
interface CrashPath {
  storage: CrashStorage;
  publisher: CrashPublisher;
  spool: SpoolSink | undefined;
  mover: Crashmover | undefined;
  sink: CrashSink;
  health: HealthMonitor;
}

export interface WorkerParts extends Telemetry, CrashPath {
  state: WorkerState;
  log: Logger;
  /** Resolves once every line logged so far is written (before the exit, before announcing "listening"). */
  flushLogs: () => Promise<void>;
  server: Server;
  admin: AdminListener | undefined;
}

/** Builds one worker, in start-up order: logging, metrics, backends and health, the apps, the servers. Nothing listens yet. */
export async function composeWorker(config: Config): Promise<WorkerParts> {
  const state: WorkerState = { shuttingDown: false, fleet: undefined, openUploads: 0 };
  const logger = createLogger({ level: config.logging.level, localDevEnv: config.server.localDevEnv, hostname: config.server.hostname, asyncStdout: true });
  const log = componentLogger(logger, 'antenna.worker');
  const memoryBudget = new MemoryBudget(
    config.breakpad.workerMemoryBudget,
    config.crashmover.retryAfterSeconds,
    new MallocRetention(config.cluster.workerMallocKeepMb * 1024 * 1024),
  );
  const telemetry = await createTelemetry(config, logger, {
    inFlight: (): number => crashPath.sink.inFlight + state.openUploads,
    bodyBytesInMemory: () => memoryBudget.inUse,
  });
  const crashPath = await createCrashPath(config, logger, telemetry.metrics);
  await crashPath.health.start();

  const exposure = exposureFrom(config);
  const operations = operationsFor(config, logger, { ...telemetry, ...crashPath }, state);
  const app = createApp({ ...operations(exposure.public), submit: submitDeps(config, logger, telemetry.metrics, crashPath.sink, memoryBudget) });
  const server = createServer(serverSettings(config), (req, res) => {
    if (state.shuttingDown) res.setHeader('Connection', 'close');
    if (req.method === 'POST') {
      state.openUploads++;
      res.once('close', () => state.openUploads--);
    }
    app(req, res);
  });
  const admin = exposure.admin && createAdminListener(config, exposure.admin, createAdminApp(operations(exposure.admin)), () => state.shuttingDown);
  countDroppedConnections(server, telemetry.metrics, log, config.server.maxConnectionsPerWorker);
  return { ...telemetry, ...crashPath, state, log, flushLogs: () => logger.flush(), server, admin };
}

async function createTelemetry(config: Config, logger: Logger, load: WorkerPrometheusOptions): Promise<Telemetry> {
  const statsd = statsdFromConfig(config, logger, 'worker');
  const prom = config.observability.metricsEnabled ? createWorkerPrometheus(load) : undefined;
  const metrics = prom ? fanOut(statsd, prom.metrics) : statsd;
  const errorReporter = await errorReporterFromConfig(config, logger, metrics);
  const metricsEndpoint = prom
    ? createMetricsEndpoint({ registry: prom.registry, timeoutMs: config.observability.metricsCollectTimeoutMs + 3000, send: sendToPrimary })
    : undefined;
  return { metrics, prom, errorReporter, metricsEndpoint };
}

/** The backends, the sink in front of them, and the health checks of both (not started). */
async function createCrashPath(config: Config, logger: Logger, metrics: Metrics): Promise<CrashPath> {
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
  return { storage, publisher, spool, mover, sink, health };
}

/** Everything but `/submit`, for the routes one listener serves. */
function operationsFor(config: Config, logger: Logger, w: Telemetry & CrashPath, state: WorkerState): (routes: ListenerRoutes) => OperationsDeps {
  const { metrics, errorReporter, metricsEndpoint, storage, spool, mover, health } = w;
  return (routes) => ({
    logger: componentLogger(logger, 'antenna.app'),
    metrics,
    errorReporter,
    before: accessLog({ logger: componentLogger(logger, 'antenna.access'), includeClientIp: config.observability.accessLogClientIp }),
    metricsRoute: routes.metrics ? metricsEndpoint?.handler : undefined,
    dockerflow: {
      basedir: config.server.basedir,
      brokenEnabled: routes.broken,
      heartbeatDetails: routes.heartbeatDetails,
      heartbeat: () =>
        heartbeatView(
          health.errors,
          state.fleet,
          spool && { sink: spool, warnings: health.warnings },
          mover?.saveFailure && { storage: storage.name, failure: mover.saveFailure },
        ),
    },
  });
}

function submitDeps(config: Config, logger: Logger, metrics: Metrics, sink: CrashSink, memoryBudget: MemoryBudget): AppDeps['submit'] {
  const b = config.breakpad;
  return {
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
  };
}

/** Connections closed at accept because MAX_CONNECTIONS_PER_WORKER are open: counted, and logged at most once a minute. */
function countDroppedConnections(server: Server, metrics: Metrics, log: Logger, maxConnectionsPerWorker: number): void {
  let dropsLogged = 0;
  server.on('drop', () => {
    metrics.incr('collector.connection_dropped');
    // A flood drops many: one line a minute is enough to say so.
    if (Date.now() - dropsLogged < 60_000) return;
    dropsLogged = Date.now();
    log.warn(`closed a new connection: this worker has MAX_CONNECTIONS_PER_WORKER (${maxConnectionsPerWorker}) open`);
  });
}
