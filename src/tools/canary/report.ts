/**
 * How a canary run is shown: a progress line per interval and a final table
 * on stdout, and the same numbers in Prometheus text format for
 * node_exporter's textfile collector. Pure: strings in, strings out.
 */
import { STAGES, type Percentiles, type Summary } from './stats';

export interface RunInfo {
  runId: string;
  url: string;
  rate: number;
  planned: number;
  durationMs: number;
  storage: string;
  /** What the queue check reads, or why there is none. */
  queue: string;
  queueCheck: boolean;
  minSuccess: number;
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : String(Math.round(v)));
const pct = (v: number) => `${v.toFixed(1)} %`;
const rateText = (perSecond: number) => (perSecond >= 1 ? `${+perSecond.toFixed(3)}/s` : `${+(perSecond * 60).toFixed(3)}/m`);

export function headerLine(info: RunInfo): string {
  return (
    `canary run ${info.runId}: ${info.planned} crashes at ${rateText(info.rate)} over ${info.durationMs / 1000} s to ${info.url}\n` +
    `  storage: ${info.storage}\n  queue:   ${info.queue}\n`
  );
}

function failuresText(s: Summary): string {
  const parts = STAGES.filter((st) => s.failures[st] > 0).map((st) => `${st} ${s.failures[st]}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** One line per interval: running totals since the start. */
export function progressLine(elapsedMs: number, s: Summary, queueCheck: boolean): string {
  const t = `${Math.round(elapsedMs / 1000)}s`.padStart(5);
  return (
    `[${t}] sent ${s.sent} acked ${s.acknowledged} stored ${s.stored}` +
    (queueCheck ? ` published ${s.published}` : '') +
    ` pending ${s.pending} failed ${s.failed}` +
    ` success ${pct(s.successRate)}` +
    ` | p50/p95 stored ${ms(s.latency.stored.p50)}/${ms(s.latency.stored.p95)} ms` +
    (queueCheck ? ` queue ${ms(s.latency.queued.p50)}/${ms(s.latency.queued.p95)} ms` : '') +
    ` | failures: ${failuresText(s)}\n`
  );
}

function latencyRow(name: string, p: Percentiles): string {
  return `    ${name.padEnd(22)}${ms(p.p50).padStart(7)}${ms(p.p95).padStart(7)}${ms(p.p99).padStart(7)}${ms(p.max).padStart(7)}\n`;
}

export function finalReport(info: RunInfo, s: Summary, elapsedMs: number): string {
  const verdict = s.successRate >= info.minSuccess ? 'PASS' : 'FAIL';
  let out =
    `\ncanary run ${info.runId} finished after ${(elapsedMs / 1000).toFixed(1)} s\n` +
    `  planned        ${s.planned}\n` +
    `  sent           ${s.sent}\n` +
    `  acknowledged   ${s.acknowledged}   (200 CrashID)\n` +
    `  stored         ${s.stored}   (raw crash, dump bytes and checksum as sent)\n` +
    (info.queueCheck ? `  published      ${s.published}   (id seen on the queue)\n` : `  published      not checked\n`) +
    `  failed         ${s.failed}\n` +
    (s.pending > 0 ? `  unfinished     ${s.pending}\n` : '') +
    `  success rate   ${pct(s.successRate)}   (minimum ${info.minSuccess} %): ${verdict}\n` +
    `  latency from sending, ms   p50    p95    p99    max\n` +
    latencyRow('answered 200', s.latency.ack) +
    latencyRow('visible in storage', s.latency.stored) +
    (info.queueCheck ? latencyRow('seen on the queue', s.latency.queued) : '') +
    `  failures by stage: ${failuresText(s)}\n`;
  for (const e of s.examples) out += `    #${e.seq} ${e.crashId ?? '(no crash id)'}: ${e.failed}: ${e.detail ?? ''}\n`;
  return out;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * The run in Prometheus text format. Every value describes the latest run (so
 * far), hence gauges: the file is replaced at each interval and at the end.
 */
export function promText(info: RunInfo, s: Summary, o: { finished: boolean; nowMs: number }): string {
  const target = `target="${escapeLabel(info.url)}"`;
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}{${[target, labels].filter(Boolean).join(',')}} ${Number.isNaN(value) ? 'NaN' : value}`);
  };
  metric('antenna_canary_crashes', 'Synthetic crashes of the latest canary run, by how far they got.', [
    ['outcome="planned"', s.planned],
    ['outcome="sent"', s.sent],
    ['outcome="acknowledged"', s.acknowledged],
    ['outcome="stored"', s.stored],
    ['outcome="published"', s.published],
    ['outcome="succeeded"', s.succeeded],
    ['outcome="pending"', s.pending],
  ]);
  metric(
    'antenna_canary_failures',
    'Synthetic crashes of the latest canary run that failed, by the first stage that failed.',
    STAGES.map((st) => [`stage="${st}"`, s.failures[st]]),
  );
  metric('antenna_canary_success_ratio', "Share of the latest canary run's finished crashes that were answered, stored intact and published (0 to 1).", [
    ['', s.successRate / 100],
  ]);
  // A summary per path: quantiles plus _sum and _count, in seconds.
  const paths: Array<[string, Percentiles]> = [
    ['acknowledged', s.latency.ack],
    ['stored', s.latency.stored],
    ...(info.queueCheck ? ([['published', s.latency.queued]] as Array<[string, Percentiles]>) : []),
  ];
  const latency = 'antenna_canary_latency_seconds';
  lines.push(
    `# HELP ${latency} Seconds from sending a synthetic crash to its 200 answer, its raw crash in storage, its id on the queue (latest run).`,
    `# TYPE ${latency} summary`,
  );
  for (const [to, p] of paths) {
    const labels = `${target},to="${to}"`;
    for (const [q, v] of [
      ['0.5', p.p50],
      ['0.95', p.p95],
      ['0.99', p.p99],
    ] as const)
      lines.push(`${latency}{${labels},quantile="${q}"} ${Number.isNaN(v) ? 'NaN' : v / 1000}`);
    lines.push(`${latency}_sum{${labels}} ${p.sum / 1000}`, `${latency}_count{${labels}} ${p.count}`);
  }
  metric('antenna_canary_run_finished', '1 once the latest canary run has finished, 0 while it runs.', [['', o.finished ? 1 : 0]]);
  metric('antenna_canary_last_update_timestamp_seconds', 'When the canary last wrote this file (Unix time).', [['', Math.round(o.nowMs / 1000)]]);
  return lines.join('\n') + '\n';
}
