import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METRIC_CATALOG, METRICS_BY_NAME, PROM_ONLY, type PromMapping } from '../../shared/metrics/catalog';
import type { Metrics } from '../../shared/metrics';

type PromMetric = Counter<string> | Gauge<string> | Histogram<string>;

function labelNames(mappings: PromMapping[]): string[] {
  const names = new Set<string>();
  for (const m of mappings) {
    for (const l of m.labels ?? []) names.add(l);
    for (const l of Object.keys(m.constLabels ?? {})) names.add(l);
  }
  return [...names];
}

function labelsOf(mapping: PromMapping, tags: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = { ...mapping.constLabels };
  for (const t of tags ?? []) {
    const i = t.indexOf(':');
    const key = t.slice(0, i);
    if (mapping.labels?.includes(key)) labels[key] = t.slice(i + 1);
  }
  return labels;
}

export interface WorkerPrometheusOptions {
  /** Crashes being saved plus uploads being received, read at scrape time. */
  inFlight: () => number;
  /** Body bytes held against BREAKPAD_WORKER_MEMORY_BUDGET, read at scrape time. */
  bodyBytesInMemory: () => number;
}

/**
 * A worker's Prometheus registry. `metrics` turns the collector's StatsD-style
 * calls into prom-client updates through the catalog; the primary merges
 * every worker's registry (prom-client cluster aggregation) for `/metrics`.
 */
export function createWorkerPrometheus(opts: WorkerPrometheusOptions): { registry: Registry; metrics: Metrics; close(): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const byPromName = new Map<string, PromMapping[]>();
  for (const spec of METRIC_CATALOG) {
    if (!spec.prom) continue;
    byPromName.set(spec.prom.name, [...(byPromName.get(spec.prom.name) ?? []), spec.prom]);
  }
  const instruments = new Map<string, PromMetric>();
  for (const [name, mappings] of byPromName) {
    const first = mappings[0]!;
    const common = { name, help: first.help, labelNames: labelNames(mappings), registers: [registry] };
    instruments.set(
      name,
      first.kind === 'counter'
        ? new Counter(common)
        : first.kind === 'gauge'
          ? new Gauge({ ...common, aggregator: 'sum' })
          : new Histogram({ ...common, buckets: first.buckets && [...first.buckets] }),
    );
  }

  new Gauge({
    name: PROM_ONLY.inFlight.name,
    help: PROM_ONLY.inFlight.help,
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.set(opts.inFlight());
    },
  });

  new Gauge({
    name: PROM_ONLY.bodyBytesInMemory.name,
    help: PROM_ONLY.bodyBytesInMemory.help,
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.set(opts.bodyBytesInMemory());
    },
  });

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  new Gauge({
    name: PROM_ONLY.eventLoopLag.name,
    help: PROM_ONLY.eventLoopLag.help,
    labelNames: PROM_ONLY.eventLoopLag.labels,
    registers: [registry],
    collect() {
      this.set({ pid: String(process.pid) }, delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
      delay.reset();
    },
  });

  function record(name: string, value: number, tags: string[] | undefined): void {
    const mapping = METRICS_BY_NAME.get(name)?.prom;
    if (!mapping) return;
    const instrument = instruments.get(mapping.name)!;
    const labels = labelsOf(mapping, tags);
    const v = value * (mapping.scale ?? 1);
    if (instrument instanceof Counter) instrument.inc(labels, v);
    else if (instrument instanceof Gauge) instrument.set(labels, v);
    else instrument.observe(labels, v);
  }

  return {
    registry,
    metrics: {
      incr: (name, tags, value = 1) => record(name, value, tags),
      gauge: (name, value, tags) => record(name, value, tags),
      timing: (name, ms, tags) => record(name, ms, tags),
      histogram: (name, value, tags) => record(name, value, tags),
      close: async () => {},
    },
    close: () => delay.disable(),
  };
}
