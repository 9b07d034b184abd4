#!/usr/bin/env node
// Writes deploy/grafana/antenna.json, the Grafana dashboard of the collector,
// from the metric catalog: an overview of what the alerts watch, then one panel
// for every metric GET /metrics exports. `npm run dashboard` after changing
// src/shared/metrics/catalog.ts; test/deploy/grafana.test.ts fails while the
// committed file is stale.
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.resolve(__dirname, '..', 'deploy', 'grafana', 'antenna.json');
const DS = { type: 'prometheus', uid: '${datasource}' };
const SEL = 'job=~"$job", instance=~"$instance"';

/**
 * How a per-worker gauge of the Prometheus-only metrics is aggregated when it
 * is not summed (its labels come from the catalog).
 */
const AGGREGATE = {
  antenna_event_loop_lag_seconds: 'max',
};

function unitOf(name, kind) {
  if (kind === 'counter') return 'ops';
  if (name.endsWith('_seconds')) return 's';
  if (name.endsWith('_bytes')) return 'bytes';
  return 'short';
}

/** One entry per Prometheus metric name: a catalog name mapped by several StatsD metrics is one metric with their labels. */
function promMetrics(catalog, promOnly) {
  const byName = new Map();
  for (const spec of catalog) {
    if (!spec.prom) continue;
    const p = spec.prom;
    const m = byName.get(p.name) || { name: p.name, kind: p.kind, help: p.help, labels: [] };
    for (const l of [...(p.labels || []), ...Object.keys(p.constLabels || {})]) if (!m.labels.includes(l)) m.labels.push(l);
    byName.set(p.name, m);
  }
  for (const { name, kind, help, labels } of Object.values(promOnly)) {
    byName.set(name, { name, kind, help, labels: [...(labels || [])], aggregate: AGGREGATE[name] });
  }
  return [...byName.values()];
}

function target(expr, legendFormat, refId) {
  return { datasource: DS, expr, legendFormat, refId, range: true };
}

/** The queries of one metric's panel, by kind. */
function metricTargets(m) {
  const ids = 'ABCDEFGH';
  if (m.kind === 'histogram') {
    const by = ['le', ...m.labels].join(', ');
    const legend = m.labels.map((l) => ` {{${l}}}`).join('');
    return [0.5, 0.9, 0.99].map((q, i) =>
      target(`histogram_quantile(${q}, sum by (${by}) (rate(${m.name}_bucket{${SEL}}[$__rate_interval])))`, `p${q * 100}${legend}`, ids[i]),
    );
  }
  const labels = m.labels.filter((l) => l !== 'pid');
  const by = labels.length ? labels.join(', ') : 'instance';
  const legend = (labels.length ? labels : ['instance']).map((l) => `{{${l}}}`).join(' ');
  if (m.kind === 'counter') return [target(`sum by (${by}) (rate(${m.name}{${SEL}}[$__rate_interval]))`, legend, 'A')];
  const aggregate = m.aggregate || 'sum';
  const gaugeBy = labels.length ? `instance, ${by}` : 'instance';
  const gaugeLegend = labels.length ? `{{instance}} ${legend}` : '{{instance}}';
  return [target(`${aggregate} by (${gaugeBy}) (${m.name}{${SEL}})`, gaugeLegend, 'A')];
}

/** The hand-picked overview: what an operator looks at first, and what the alerts watch. */
function overviewPanels() {
  const rate = (metric, extra = '') => `rate(${metric}{${SEL}${extra}}[$__rate_interval])`;
  const p = (title, description, unit, targets, type = 'timeseries') => ({ title, description, unit, targets, type });
  return [
    p('Nodes up', 'Collector nodes Prometheus scraped successfully.', 'short', [target('sum(up{job=~"$job"})', 'nodes up', 'A')], 'stat'),
    p('Workers', 'Workers of each node by state; a worker that stopped reporting to the primary is unresponsive.', 'short', [
      target(`sum by (instance, state) (antenna_workers{${SEL}})`, '{{instance}} {{state}}', 'A'),
    ]),
    p('Crashes per second', 'Well-formed crashes received, saved (and published), and not saved after the last attempt (the client got 500).', 'ops', [
      target(`sum(${rate('antenna_crashes_received_total')})`, 'received', 'A'),
      target(`sum by (published) (${rate('antenna_crashes_saved_total')})`, 'saved, published={{published}}', 'B'),
      target(`sum(${rate('antenna_save_failures_total')})`, 'save failed', 'C'),
    ]),
    p('Throttle results', 'Throttle decisions per second by result.', 'ops', [
      target(`sum by (result) (${rate('antenna_throttle_total')})`, '{{result}}', 'A'),
    ]),
    p('Refused and malformed', 'Crashes refused with 503 (every antenna_*_refused_total counter), and submissions rejected as malformed, by reason.', 'ops', [
      target(`sum by (reason) (rate({__name__=~"antenna_.*_refused_total", ${SEL}}[$__rate_interval]))`, 'refused: {{reason}}', 'A'),
      target(`sum by (reason) (${rate('antenna_malformed_total')})`, 'malformed: {{reason}}', 'B'),
    ]),
    p('POST /submit latency', 'Time to handle one POST /submit, from headers to answer.', 's', [
      target(`histogram_quantile(0.5, sum by (le) (${rate('antenna_submit_seconds_bucket')}))`, 'p50', 'A'),
      target(`histogram_quantile(0.99, sum by (le) (${rate('antenna_submit_seconds_bucket')}))`, 'p99', 'B'),
    ]),
    p('Save and publish latency (p99)', 'One save attempt and one publish attempt, 99th percentile.', 's', [
      target(`histogram_quantile(0.99, sum by (le) (${rate('antenna_save_seconds_bucket')}))`, 'save', 'A'),
      target(`histogram_quantile(0.99, sum by (le) (${rate('antenna_publish_seconds_bucket')}))`, 'publish', 'B'),
    ]),
    p('Save queue and in flight', 'Crashes waiting to be saved, and crashes being saved plus uploads being received, per node.', 'short', [
      target(`sum by (instance) (antenna_save_queue_size{${SEL}})`, 'queue {{instance}}', 'A'),
      target(`sum by (instance) (antenna_in_flight{${SEL}})`, 'in flight {{instance}}', 'B'),
    ]),
    p('Spool fill', 'Bytes in the spool as a share of CRASHMOVER_SPOOL_MAX_BYTES; at 100 % new crashes are refused with 503.', 'percentunit', [
      target(`sum by (instance) (antenna_spool_bytes{${SEL}}) / sum by (instance) (antenna_spool_max_bytes{${SEL}})`, '{{instance}}', 'A'),
    ]),
    p('Spool: oldest crash', 'Age of the oldest crash waiting in the spool; it is deleted unsaved after CRASHMOVER_SPOOL_MAX_AGE.', 's', [
      target(`max by (instance) (antenna_spool_oldest_age_seconds{${SEL}})`, '{{instance}}', 'A'),
    ]),
    p('Spool moves', 'Spooled crashes moved to storage, and failed attempts by operation.', 'ops', [
      target(`sum(${rate('antenna_spool_moved_total')})`, 'moved', 'A'),
      target(`sum by (operation) (${rate('antenna_spool_move_failures_total')})`, 'failed: {{operation}}', 'B'),
    ]),
    p('Worker restarts and event loop lag', 'Workers replaced after dying (per minute), and the p99 event-loop delay of the worst worker per node.', 'short', [
      target(`sum by (instance) (increase(antenna_worker_restarts_total{${SEL}}[5m]))`, 'restarts/5m {{instance}}', 'A'),
      target(`max by (instance) (antenna_event_loop_lag_seconds{${SEL}})`, 'lag (s) {{instance}}', 'B'),
    ]),
  ];
}

function panel(id, gridPos, { title, description, unit, targets, type }) {
  const base = { id, type, title, description, datasource: DS, gridPos, targets, fieldConfig: { defaults: { unit }, overrides: [] } };
  if (type === 'stat')
    return { ...base, options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' } };
  return { ...base, options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } } };
}

/** The dashboard as an object; `catalog` and `promOnly` are METRIC_CATALOG and PROM_ONLY of src/shared/metrics/catalog.ts. */
function renderDashboard(catalog, promOnly) {
  const panels = [];
  let id = 1;
  let y = 0;
  const row = (title) => {
    panels.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
  };
  const grid = (specs) => {
    specs.forEach((spec, i) => {
      panels.push(panel(id++, { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 }, spec));
    });
    y += Math.ceil(specs.length / 2) * 8;
  };

  row('Overview');
  grid(overviewPanels());
  row('Every metric of /metrics (from the catalog)');
  grid(
    promMetrics(catalog, promOnly).map((m) => ({
      title: m.name,
      description: `${m.help} (${m.kind})`,
      unit: unitOf(m.name, m.kind),
      targets: metricTargets(m),
      type: 'timeseries',
    })),
  );

  return {
    title: 'Antenna collector',
    uid: 'antenna-collector',
    description: 'Generated from src/shared/metrics/catalog.ts by `npm run dashboard`; alerts in deploy/prometheus/alerts.yml.',
    tags: ['antenna', 'crash-reports'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        {
          name: 'job',
          label: 'Job',
          type: 'query',
          datasource: DS,
          query: { query: 'label_values(antenna_crashes_received_total, job)', refId: 'job' },
          definition: 'label_values(antenna_crashes_received_total, job)',
          current: {},
          refresh: 2,
          sort: 1,
          hide: 0,
        },
        {
          name: 'instance',
          label: 'Node',
          type: 'query',
          datasource: DS,
          query: { query: 'label_values(antenna_crashes_received_total{job=~"$job"}, instance)', refId: 'instance' },
          definition: 'label_values(antenna_crashes_received_total{job=~"$job"}, instance)',
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: {},
          refresh: 2,
          sort: 1,
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

function main() {
  require('./build-if-needed');
  const { METRIC_CATALOG, PROM_ONLY } = require('../dist/shared/metrics/catalog');
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(renderDashboard(METRIC_CATALOG, PROM_ONLY), null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), OUT)}`);
}

module.exports = { renderDashboard, DASHBOARD_FILE: OUT };
if (require.main === module) main();
