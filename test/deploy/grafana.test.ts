import { readFileSync } from 'node:fs';
import { DASHBOARD_FILE, renderDashboard, type GrafanaDashboard } from '../../scripts/gen-dashboard';
import { METRIC_CATALOG, PROM_ONLY } from '../../src/shared/metrics/catalog';
import { exportedMetrics, queryProblems, type ExportedMetric } from './exported-metrics';

const committed = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as GrafanaDashboard;

let exported: Map<string, ExportedMetric>;
beforeAll(async () => {
  exported = await exportedMetrics();
});

function queries(d: GrafanaDashboard): { where: string; expr: string }[] {
  const fromPanels = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })));
  const fromVariables = d.templating.list.flatMap((v) => {
    const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition ?? '');
    return m ? [{ where: `variable $${v.name}`, expr: m[1]! }] : [];
  });
  return [...fromPanels, ...fromVariables];
}

describe('deploy/grafana/antenna.json', () => {
  test('is what scripts/gen-dashboard.js makes of the metric catalog (run `npm run dashboard` when this fails)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(renderDashboard(METRIC_CATALOG, PROM_ONLY))));
  });

  test('every query reads metrics, labels and label values the collector exports', () => {
    const problems = queries(committed).flatMap((q) => queryProblems(q.where, q.expr, exported));
    expect(problems).toEqual([]);
  });

  test('every metric the collector exports has a panel', () => {
    const text = queries(committed)
      .map((q) => q.expr)
      .join('\n');
    const missing = [...exported.keys()]
      .filter((name) => name.startsWith('antenna_'))
      .map((name) => name.replace(/_(bucket|sum|count)$/, ''))
      .filter((base) => !new RegExp(`\\b${base}(_bucket)?\\b`).test(text));
    expect([...new Set(missing)]).toEqual([]);
  });

  test('panels have unique ids and do not overlap', () => {
    const ids = committed.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of committed.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect([p.title, cells.has(`${i},${j}`)]).toEqual([p.title, false]);
          cells.add(`${i},${j}`);
        }
    }
  });

  test('a catalog metric without a panel, or a query of a metric that is not exported, is caught', () => {
    const spec = {
      name: 'collector.test.only',
      type: 'incr' as const,
      tags: [],
      description: 'x',
      prom: { name: 'antenna_not_exported_total', kind: 'counter' as const, help: 'x' },
    };
    const broken = JSON.parse(JSON.stringify(renderDashboard([...METRIC_CATALOG, spec], PROM_ONLY))) as GrafanaDashboard;
    expect(broken).not.toEqual(committed);
    const problems = queries(broken).flatMap((q) => queryProblems(q.where, q.expr, exported));
    expect(problems).toEqual([expect.stringContaining('antenna_not_exported_total is not a metric the collector exports')]);
  });
});
