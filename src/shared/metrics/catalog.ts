/**
 * Every metric the collector emits, in one catalog: the StatsD name (Antenna's,
 * without the namespace prefix), its type and tags, and how it appears in
 * Prometheus; then the Prometheus-only metrics. The entries live by domain in
 * catalog-*.ts; this file joins them and is the only one to import.
 * docs/metrics.md and the Grafana dashboard are generated from it, and
 * `Metrics` calls take only a `MetricName` of METRIC_CATALOG.
 */
import { COLLECTOR_METRICS, HEALTH_METRICS } from './catalog-collector';
import { CRASHMOVER_METRICS, STORAGE_METRICS } from './catalog-crashmover';
import type { MetricSpec } from './catalog-spec';
import { SPOOL_METRICS } from './catalog-spool';

export type { MetricSpec, PromMapping, StatsdType } from './catalog-spec';
export { PROM_ONLY } from './catalog-prom-only';

type Table = typeof COLLECTOR_METRICS | typeof CRASHMOVER_METRICS | typeof HEALTH_METRICS | typeof SPOOL_METRICS | typeof STORAGE_METRICS;

/** Every name a `Metrics` call may take: a name missing here, or misspelt, fails to compile. */
export type MetricName = Table[number]['name'];

/** In the order of docs/metrics.md and the dashboard. */
export const METRIC_CATALOG: readonly MetricSpec<MetricName>[] = [
  ...COLLECTOR_METRICS,
  ...CRASHMOVER_METRICS,
  ...HEALTH_METRICS,
  ...SPOOL_METRICS,
  ...STORAGE_METRICS,
];

export const METRICS_BY_NAME: ReadonlyMap<string, MetricSpec<MetricName>> = new Map(METRIC_CATALOG.map((m) => [m.name, m]));
