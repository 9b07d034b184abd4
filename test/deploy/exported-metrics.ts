import { createPrimaryPrometheus } from '../../src/primary/prometheus';
import type { PrimaryToWorker } from '../../src/shared/ipc';
import { METRIC_CATALOG } from '../../src/shared/metrics/catalog';
import { createWorkerPrometheus } from '../../src/worker/metrics/prometheus';
import { analyseQuery, withoutGrafanaVariables, type Selector } from './promql';

/** Series Prometheus adds to every target itself, not the collector. */
export const TARGET_LABELS = ['job', 'instance'];

/**
 * Metrics the alerts read from outside the collector: Prometheus' own `up` per
 * scrape target, and blackbox_exporter's `probe_success` for a probe of
 * `/__heartbeat__` (the collector exports no metric for its backend checks).
 */
export const EXTERNAL_METRICS: ReadonlyMap<string, string[]> = new Map([
  ['up', []],
  ['probe_success', []],
]);

export interface ExportedMetric {
  labels: Set<string>;
  /** Label values seen in the scrape (constant labels, worker states, …). */
  values: Map<string, Set<string>>;
}

const PLACEHOLDER = 'label_value_placeholder';

function parseExposition(text: string, into: Map<string, ExportedMetric>): void {
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) throw new Error(`cannot parse exposition line: ${line}`);
    const metric = into.get(m[1]!) ?? { labels: new Set<string>(), values: new Map<string, Set<string>>() };
    into.set(m[1]!, metric);
    for (const [, label, value] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      metric.labels.add(label!);
      if (value === PLACEHOLDER) continue;
      metric.values.set(label!, (metric.values.get(label!) ?? new Set()).add(value!));
    }
  }
}

/**
 * Every series the collector exports on `/metrics`, read from its own
 * registries: a worker's registry after one call of every catalog metric (its
 * tag labels set to a placeholder), and the primary's answer to a scrape with
 * the spool on. Names include the `_bucket`/`_sum`/`_count` series of histograms.
 */
export async function exportedMetrics(): Promise<Map<string, ExportedMetric>> {
  const exported = new Map<string, ExportedMetric>();

  const worker = createWorkerPrometheus({ inFlight: () => 1, bodyBytesInMemory: () => 1 });
  try {
    for (const spec of METRIC_CATALOG) {
      const tags = (spec.prom?.labels ?? []).map((l) => `${l}:${PLACEHOLDER}`);
      if (spec.type === 'incr') worker.metrics.incr(spec.name, tags);
      else if (spec.type === 'gauge') worker.metrics.gauge(spec.name, 1, tags);
      else if (spec.type === 'timing') worker.metrics.timing(spec.name, 1, tags);
      else worker.metrics.histogram(spec.name, 1, tags);
    }
    parseExposition(await worker.registry.metrics(), exported);
  } finally {
    worker.close();
  }

  const primary = createPrimaryPrometheus({
    collectTimeoutMs: 100,
    workerStates: () => ({ healthy: 1, unresponsive: 0 }),
    spool: () => ({ crashes: 1, bytes: 1, maxBytes: 2, oldestSpooledAt: Date.now(), scannedAt: Date.now(), claimed: {} }),
  });
  primary.workerRestarted();
  const answer = await new Promise<PrimaryToWorker>((resolve) => primary.onWorkerMessage(resolve, { type: 'antenna:prom-scrape', id: 1 }));
  if (answer.type !== 'antenna:prom-text' || answer.text === undefined) throw new Error(`the primary did not answer the scrape: ${JSON.stringify(answer)}`);
  parseExposition(answer.text, exported);
  return exported;
}

/**
 * Label values the catalog documents for a label key: the words in the
 * descriptions of every metric tagged with it (e.g. `result:accept`, `defer`,
 * `reject` or `fakeaccept`; `NO_MATCH`).
 */
export function documentedValues(label: string): Set<string> {
  const words = new Set<string>();
  for (const spec of METRIC_CATALOG) {
    if (!spec.tags.includes(label) && !spec.prom?.labels?.includes(label)) continue;
    for (const [w] of spec.description.matchAll(/[A-Za-z0-9_]+/g)) words.add(w);
  }
  return words;
}

/**
 * What is wrong with the metrics and labels a query reads: a metric the
 * collector does not export (or a `__name__` pattern that matches none), a
 * label it does not carry, a label value the catalog does not document (a typo
 * in a matcher silently matches nothing), a `by (…)` label none of the
 * aggregated metrics has, or a syntax error. `checkValues: false` skips the
 * label values, for made-up series such as test inputs with pids and rule names.
 */
export function queryProblems(where: string, expr: string, exported: Map<string, ExportedMetric>, opts: { checkValues?: boolean } = {}): string[] {
  const use = analyseQuery(withoutGrafanaVariables(expr));
  const problems = use.errors.map((e) => `${where}: syntax error near ${e}`);
  const known = [...exported.keys(), ...EXTERNAL_METRICS.keys()];
  const metricsOf = (sel: Selector): string[] =>
    sel.metric !== undefined ? (known.includes(sel.metric) ? [sel.metric] : []) : known.filter((n) => new RegExp(`^(?:${sel.nameRegex ?? ''})$`).test(n));
  const labelsOf = (metric: string): Set<string> =>
    new Set([...TARGET_LABELS, ...(EXTERNAL_METRICS.get(metric) ?? []), ...(exported.get(metric)?.labels ?? [])]);

  for (const sel of use.selectors) {
    const metrics = metricsOf(sel);
    const shown = sel.metric ?? `{__name__=~"${sel.nameRegex ?? ''}"}`;
    if (metrics.length === 0) {
      problems.push(`${where}: ${shown} is not a metric the collector exports`);
      continue;
    }
    for (const { label, op, value } of sel.matchers) {
      const lacking = metrics.filter((m) => !labelsOf(m).has(label));
      if (lacking.length > 0) {
        problems.push(`${where}: ${lacking.join(', ')} has no label ${label} (it has ${[...labelsOf(lacking[0]!)].join(', ')})`);
        continue;
      }
      if (opts.checkValues === false || TARGET_LABELS.includes(label) || value.includes('$')) continue;
      const literal = op === '=' || op === '!=' ? [value] : /^[\w|]+$/.test(value) ? value.split('|') : [];
      const values = new Set([...metrics.flatMap((m) => [...(exported.get(m)?.values.get(label) ?? [])]), ...documentedValues(label)]);
      for (const v of literal) if (!values.has(v)) problems.push(`${where}: ${shown}{${label}} never has the value "${v}"`);
    }
  }
  for (const g of use.groupings) {
    const metrics = g.selectors.flatMap(metricsOf);
    if (metrics.length === 0) continue; // an unknown metric is reported above
    const available = new Set(metrics.flatMap((m) => [...labelsOf(m)]));
    for (const l of g.labels) if (!available.has(l)) problems.push(`${where}: by (${l}) but ${[...new Set(metrics)].join(', ')} has no label ${l}`);
  }
  return problems;
}
