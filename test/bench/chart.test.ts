import { renderChart } from '../../bench/lib/chart';
import type { RunRecord } from '../../bench/lib/report';

function run(server: RunRecord['server'], crashesPerS: number, ratio?: number): RunRecord {
  return {
    size: '400k',
    bodyBytes: 409600,
    wireBytes: 409600,
    encoding: 'plain',
    connections: 16,
    server,
    durationS: 10,
    ok2xx: 1,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: {},
    unexpectedBodies: 0,
    crashesPerS,
    mbPerS: 0,
    latencyP50Ms: 0,
    latencyP99Ms: 0,
    latencyMaxMs: 0,
    cpuMs: 0,
    cpuMsPerCrash: 0,
    peakRssBytes: 0,
    rssProcesses: 0,
    rssPrimaryBytes: 0,
    rssLargestWorkerBytes: 0,
    rssBudgetBytes: 0,
    ratio,
    ratioOf: ratio === undefined ? undefined : 'raw',
  };
}

describe('renderChart', () => {
  it('draws one bar per run on a log scale, labels collector bars with their ratio, and escapes text', () => {
    const svg = renderChart([run('raw', 1000), run('noop', 100, 0.1)], 'a <title> & more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="\d+" height="([\d.]+)" fill="(#[0-9a-f]+)">/g)];
    expect(bars.map((b) => b[3])).toEqual(['#9e9e9e', '#1f77b4']);
    // 1000 is 3 decades, 100 is 2: on a log axis the raw bar is 1.5 times as tall.
    expect(Number(bars[0]![2]) / Number(bars[1]![2])).toBeCloseTo(1.5, 1);
    expect(svg).toContain('>0.10</text>');
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    expect(svg).toContain('400 KB crashes');
  });

  it('wraps the legend into rows that fit the chart, however many servers ran', () => {
    const servers = ['raw', 'raw-sha', 'noop', 'raw-durable', 'raw-layout', 'fs'] as const;
    const svg = renderChart(
      servers.map((s) => run(s, 1000)),
      'six servers',
    );
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1]);
    const entries = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="10" height="10"[^>]*\/><text x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)];
    expect(entries).toHaveLength(servers.length);
    for (const [, x, y, , label] of entries) {
      // ~6.5 px per character at font-size 11: the label's end stays on the canvas.
      expect(Number(x) + 14 + label!.length * 6.5).toBeLessThanOrEqual(width);
      expect(Number(y) + 10).toBeLessThanOrEqual(height);
    }
  });
});
