import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { isMessage, sendIpc, type SpoolView, type PromCollectResponse, type PromScrapeRequest, type PrimaryToWorker } from '../shared/ipc';
import { PROM_ONLY } from '../shared/metrics/catalog';

export interface PrimaryPrometheusOptions {
  /** How long the primary waits for each worker's registry before answering without it. */
  collectTimeoutMs: number;
  workerStates: () => { healthy: number; unresponsive: number };
  /** The spool's last listing, when spool mode is on. */
  spool?: () => SpoolView | undefined;
}

type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Answers a worker's `/metrics` scrape with the whole node: every worker's
 * registry, merged by prom-client's cluster aggregation (counters summed),
 * plus the primary's own metrics. A worker that does not answer in time is
 * left out of that scrape rather than failing it.
 */
export function createPrimaryPrometheus(opts: PrimaryPrometheusOptions) {
  const registry = new Registry();
  const restarts = registerNodeMetrics(registry, opts);
  const workers = workerRegistries(opts.collectTimeoutMs);

  async function scrape(): Promise<{ text: string; contentType: string }> {
    const fromWorkers = await workers.collect();
    const own = await registry.getMetricsAsJSON();
    const merged = AggregatorRegistry.aggregate([...fromWorkers, own]);
    return { text: await merged.metrics(), contentType: merged.contentType };
  }

  /** Handles the Prometheus messages of one worker; returns true when `msg` was one. */
  function onWorkerMessage(reply: (msg: PrimaryToWorker) => void, msg: unknown): boolean {
    if (isMessage<PromCollectResponse>(msg, 'antenna:prom-json')) {
      workers.answered(msg.id, msg.metrics as WorkerMetrics);
      return true;
    }
    if (isMessage<PromScrapeRequest>(msg, 'antenna:prom-scrape')) {
      scrape().then(
        ({ text, contentType }) => reply({ type: 'antenna:prom-text', id: msg.id, text, contentType }),
        (err: Error) => reply({ type: 'antenna:prom-text', id: msg.id, error: err.message }),
      );
      return true;
    }
    return false;
  }

  return { onWorkerMessage, workerRestarted: () => restarts.inc() };
}

/** The primary's own metrics (workers by state, restarts, and the spool's listing in spool mode); returns the restart counter. */
function registerNodeMetrics(registry: Registry, opts: PrimaryPrometheusOptions): Counter {
  const restarts = new Counter({ name: PROM_ONLY.workerRestarts.name, help: PROM_ONLY.workerRestarts.help, registers: [registry] });
  new Gauge({
    name: PROM_ONLY.workers.name,
    help: PROM_ONLY.workers.help,
    labelNames: PROM_ONLY.workers.labels,
    registers: [registry],
    collect() {
      const s = opts.workerStates();
      this.set({ state: 'healthy' }, s.healthy);
      this.set({ state: 'unresponsive' }, s.unresponsive);
    },
  });

  if (opts.spool) {
    const view = opts.spool;
    const gauge = (name: string, help: string, value: (v: SpoolView) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          const v = view();
          if (v) this.set(value(v));
        },
      });
    gauge(PROM_ONLY.spoolCrashes.name, PROM_ONLY.spoolCrashes.help, (v) => v.crashes);
    gauge(PROM_ONLY.spoolBytes.name, PROM_ONLY.spoolBytes.help, (v) => v.bytes);
    gauge(PROM_ONLY.spoolMaxBytes.name, PROM_ONLY.spoolMaxBytes.help, (v) => v.maxBytes);
    gauge(PROM_ONLY.spoolOldest.name, PROM_ONLY.spoolOldest.help, (v) => (v.oldestSpooledAt === undefined ? 0 : (Date.now() - v.oldestSpooledAt) / 1000));
  }
  return restarts;
}

/**
 * Asks every connected worker for its registry over IPC and gathers the
 * answers, for at most `timeoutMs`.
 */
function workerRegistries(timeoutMs: number) {
  let nextId = 1;
  const pending = new Map<number, { responses: WorkerMetrics[]; waiting: number; done: () => void }>();

  function collect(): Promise<WorkerMetrics[]> {
    const id = nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    return new Promise((resolve) => {
      const entry = { responses: [] as WorkerMetrics[], waiting: workers.length, done: () => finish() };
      const timer = setTimeout(() => finish(), timeoutMs);
      function finish() {
        clearTimeout(timer);
        pending.delete(id);
        resolve(entry.responses);
      }
      pending.set(id, entry);
      if (workers.length === 0) finish();
      // A worker that dies before answering counts as answered, so the scrape does not wait for the timeout.
      const gone = () => {
        if (--entry.waiting <= 0) entry.done();
      };
      for (const w of workers) if (!sendIpc(w!.process, { type: 'antenna:prom-collect', id }, gone)) gone();
    });
  }

  /** One worker's registry, for the collection `id` (ignored once that collection is over). */
  function answered(id: number, metrics: WorkerMetrics): void {
    const entry = pending.get(id);
    if (entry) {
      entry.responses.push(metrics);
      if (--entry.waiting <= 0) entry.done();
    }
  }

  return { collect, answered };
}
