import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_CATALOG, PROM_ONLY, type PromMapping } from '../../../src/shared/metrics/catalog';
import { exportedMetrics } from '../../deploy/exported-metrics';

// `Metrics` calls take a `MetricName`, so the compiler already keeps every
// StatsD name the code sends in the catalog. These tests keep the rest honest:
// what the Prometheus registries export, and what docs/metrics.md says.

const promCatalog: PromMapping[] = [...METRIC_CATALOG.flatMap((m) => (m.prom ? [m.prom] : [])), ...Object.values(PROM_ONLY)];

/** A series' metric: `antenna_submit_seconds_bucket` → `antenna_submit_seconds`. */
function metricOf(series: string): string {
  const histogram = promCatalog.find((p) => p.kind === 'histogram' && [`${p.name}_bucket`, `${p.name}_sum`, `${p.name}_count`].includes(series));
  return histogram?.name ?? series;
}

/** Node.js defaults of prom-client, documented as a family, not one by one. */
const isDefaultMetric = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');

describe('metric catalog', () => {
  it('lists every metric the Prometheus registries export, with its labels', async () => {
    const exported = await exportedMetrics();
    const missing: string[] = [];
    for (const [series, { labels }] of exported) {
      if (isDefaultMetric(series)) continue;
      const name = metricOf(series);
      const mappings = promCatalog.filter((p) => p.name === name);
      if (mappings.length === 0) {
        missing.push(`${name} is exported but not in src/shared/metrics/catalog.ts`);
        continue;
      }
      const known = new Set(['le', ...mappings.flatMap((p) => [...(p.labels ?? []), ...Object.keys(p.constLabels ?? {})])]);
      for (const l of labels) if (!known.has(l)) missing.push(`${name} is exported with label ${l}, which the catalog does not list`);
    }
    expect(missing).toEqual([]);
  });

  it('is documented in docs/metrics.md, every StatsD and every Prometheus metric', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'metrics.md'), 'utf8');
    const undocumented = [...METRIC_CATALOG.map((m) => `<namespace>.${m.name}`), ...promCatalog.map((p) => p.name)].filter((n) => !doc.includes(`\`${n}`));
    expect(undocumented).toEqual([]);
  });

  it('gives every StatsD name one entry', () => {
    const names = METRIC_CATALOG.map((m) => m.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
