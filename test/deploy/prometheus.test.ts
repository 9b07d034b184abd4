import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { exportedMetrics, queryProblems, type ExportedMetric } from './exported-metrics';

const DIR = path.resolve(__dirname, '..', '..', 'deploy', 'prometheus');
const RULES = path.join(DIR, 'alerts.yml');
const RULE_TESTS = path.join(DIR, 'alerts.test.yml');
const ALERTS_DOC = path.resolve(__dirname, '..', '..', 'docs', 'alerts.md');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules: Rule[] = (YAML.parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

let exported: Map<string, ExportedMetric>;
beforeAll(async () => {
  exported = await exportedMetrics();
});

describe('deploy/prometheus/alerts.yml', () => {
  test('covers what the operations issue asks for', () => {
    const names = new Set(rules.map((r) => r.alert));
    for (const a of [
      'AntennaNodeDown',
      'AntennaHeartbeatFailing',
      'AntennaSaveFailures',
      'AntennaSpoolGrowing',
      'AntennaSpoolNearlyFull',
      'AntennaCrashesRefused',
      'AntennaThrottleAcceptShareChanged',
      'AntennaWorkerRestarts',
    ])
      expect(names).toContain(a);
  });

  test('every query reads metrics, labels and label values the collector exports', () => {
    const problems = rules.flatMap((r) => queryProblems(r.alert, r.expr, exported));
    expect(problems).toEqual([]);
  });

  test('every alert has a severity, a summary and a runbook section in docs/alerts.md', () => {
    const doc = readFileSync(ALERTS_DOC, 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{2,4} (\w+)$/gm)].map((m) => `docs/alerts.md#${m[1]!.toLowerCase()}`));
    for (const r of rules) {
      expect([r.alert, r.labels?.severity]).toEqual([r.alert, expect.stringMatching(/^(critical|warning)$/)]);
      expect([r.alert, r.annotations?.summary]).toEqual([r.alert, expect.any(String)]);
      expect([r.alert, anchors.has(r.annotations?.runbook ?? '')]).toEqual([r.alert, true]);
    }
  });

  test('the series of alerts.test.yml are ones the collector exports, with its labels', () => {
    const cases = (YAML.parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { name: string; input_series: { series: string }[] }[] }).tests;
    const problems = cases.flatMap((t) => t.input_series.flatMap((s) => queryProblems(`test "${t.name}"`, s.series, exported, { checkValues: false })));
    expect(problems).toEqual([]);
  });

  test('alerts.test.yml makes every alert fire at least once', () => {
    const cases = (YAML.parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests;
    const fired = new Set(cases.flatMap((t) => t.alert_rule_test.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname)));
    expect(rules.map((r) => r.alert).filter((a) => !fired.has(a))).toEqual([]);
  });
});

describe('the query check', () => {
  const problems = (expr: string) => queryProblems('case', expr, exported);

  test('accepts a query the collector can answer', () => {
    expect(problems('sum by (instance, reason) (rate(antenna_spool_refused_total{job="antenna", reason="full"}[$__rate_interval]))')).toEqual([]);
    expect(problems('histogram_quantile(0.99, sum by (le) (rate(antenna_submit_seconds_bucket[5m])))')).toEqual([]);
    expect(problems('antenna_workers{state="unresponsive"} > 0')).toEqual([]);
    expect(problems('sum by (reason) (increase({__name__=~"antenna_.*_refused_total", reason!="draining"}[5m]))')).toEqual([]);
  });

  test('rejects a metric, a label, a label value or a grouping the collector does not export, and bad syntax', () => {
    expect(problems('rate(antenna_crashes_recieved_total[5m])')).toEqual([expect.stringContaining('antenna_crashes_recieved_total is not a metric')]);
    expect(problems('antenna_workers{status="healthy"}')).toEqual([expect.stringContaining('has no label status')]);
    expect(problems('antenna_workers{state="stuck"}')).toEqual([expect.stringContaining('never has the value "stuck"')]);
    expect(problems('antenna_throttle_total{result=~"accepted|defer"}')).toEqual([expect.stringContaining('"accepted"')]);
    expect(problems('sum by (reason) (rate(antenna_save_failures_total[5m]))')).toEqual([expect.stringContaining('by (reason)')]);
    expect(problems('sum(rate(antenna_save_failures_total[5m])')).toEqual([expect.stringContaining('syntax error')]);
    expect(problems('{__name__=~"antenna_.*_refused_count"}')).toEqual([expect.stringContaining('is not a metric the collector exports')]);
    expect(problems('{__name__=~"antenna_.*_total", reason="full"}')).toEqual([expect.stringContaining('has no label reason')]);
  });
});

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool)
  console.warn('promtool is not installed: skipping `promtool check rules` and `promtool test rules` of deploy/prometheus (apt-get install prometheus)');
const withPromtool = hasPromtool ? describe : describe.skip;

withPromtool('promtool', () => {
  test('check rules accepts alerts.yml', () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8', timeout: 30_000 });
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  test('check config accepts the example configurations, which load alerts.yml', () => {
    // Debian's promtool is built without Kubernetes service discovery: check a copy whose pod discovery is a static target.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'antenna-prometheus-'));
    try {
      copyFileSync(RULES, path.join(dir, 'alerts.yml'));
      for (const name of ['prometheus.static.yml', 'prometheus.kubernetes.yml']) {
        const config = YAML.parse(readFileSync(path.join(DIR, name), 'utf8')) as { rule_files: string[]; scrape_configs: Record<string, unknown>[] };
        expect(config.rule_files).toEqual(['alerts.yml']);
        expect(config.scrape_configs.map((s) => s.job_name)).toEqual(['antenna', 'antenna-heartbeat']);
        for (const s of config.scrape_configs) {
          if (!s.kubernetes_sd_configs) continue;
          expect(s.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
          delete s.kubernetes_sd_configs;
          s.static_configs = [{ targets: ['10.0.0.1:8000'] }];
        }
        writeFileSync(path.join(dir, name), YAML.stringify(config));
        const r = spawnSync('promtool', ['check', 'config', path.join(dir, name)], { encoding: 'utf8', timeout: 30_000 });
        expect([name, r.status, `${r.stdout}${r.stderr}`]).toEqual([name, 0, expect.stringContaining('SUCCESS: 20 rules found')]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('test rules: each alert fires on its inputs and stays quiet on the others', () => {
    const r = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8', timeout: 60_000 });
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });
});
