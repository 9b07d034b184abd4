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
});
