/** The tables `npm run chaos` prints (Markdown, so docs/reliability.md can hold them as they are). */
import type { ScenarioResult } from './scenario';

const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(0));

export function summaryTable(results: ScenarioResult[]): string {
  const rows = [
    '| scenario | sent | acknowledged | non-2xx by status | 5xx | no answer | lost | worker deaths (unplanned) / restarts | probe p99 ms (failed) | verdict |',
    '|---|---:|---:|---|---:|---|---:|---|---|---|',
  ];
  for (const r of results) {
    const planned = r.kills > 0 ? `${r.kills} killed, ` : '';
    rows.push(
      `| ${r.name} | ${r.tally.sent} | ${r.tally.acked.length} | ${r.tally.non2xx()} | ${r.tally.fiveXx} | ${r.tally.noAnswerText()} | ${r.audit.lost} | ${planned}${r.deaths} / ${r.replacements} | ${ms(r.probe?.p99Ms)} (${r.probe?.failures ?? '-'}) | ${r.failures.length === 0 ? 'PASS' : 'FAIL'} |`,
    );
  }
  return rows.join('\n');
}

export function categoryTable(r: ScenarioResult): string {
  const rows = ['| category | sent | acknowledged | non-2xx by status | 5xx | no answer (owed) | lost |', '|---|---:|---:|---|---:|---|---:|'];
  for (const c of r.categories ?? []) {
    const flag = c.tally.fiveXx > 0 || c.droppedDue > 0 || c.lost > 0 || c.controlsRefused > 0 ? ' **✗**' : '';
    rows.push(
      `| ${c.category}${flag} | ${c.tally.sent} | ${c.tally.acked.length} | ${c.tally.non2xx()} | ${c.tally.fiveXx} | ${c.tally.noAnswerText()} (${c.droppedDue}) | ${c.lost} |`,
    );
  }
  return rows.join('\n');
}

export function details(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    for (const f of r.failures) out.push(`- ${r.name}: FAIL: ${f}`);
    for (const n of r.notes) out.push(`- ${r.name}: ${n}`);
  }
  return out.join('\n');
}
