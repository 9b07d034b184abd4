import { parseOptions, UsageError } from '../../bench/lib/options';
import { median, medianRuns } from '../../bench/lib/repeat';
import { computeRatios, evaluateTargets, formatTable, type RunRecord } from '../../bench/lib/report';
import { runRecord } from './run-record';

const run = (server: RunRecord['server'], round: number, over: Partial<RunRecord> = {}) => runRecord(server, round, over);

const target = (runs: RunRecord[], name: string) => evaluateTargets(runs).find((t) => t.name.startsWith(name))!;

describe('--repeat', () => {
  it('is read from the flag or BENCH_REPEAT, defaults to 1, and refuses what is not a count from 1 to 10', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ repeat: 1 });
    expect(parseOptions(['--repeat', '3'], {}, '/r')).toMatchObject({ repeat: 3 });
    expect(parseOptions(['--repeat=2'], { BENCH_REPEAT: '5' }, '/r')).toMatchObject({ repeat: 2 });
    expect(parseOptions([], { BENCH_REPEAT: '5' }, '/r')).toMatchObject({ repeat: 5 });
    for (const bad of ['0', '1.5', 'x', '11']) expect(() => parseOptions(['--repeat', bad], {}, '/r')).toThrow(UsageError);
  });
});

describe('--keep-data', () => {
  it('is off by default, and on with the flag or BENCH_KEEP_DATA=1', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ keepData: false });
    expect(parseOptions(['--keep-data'], {}, '/r')).toMatchObject({ keepData: true });
    expect(parseOptions([], { BENCH_KEEP_DATA: '1' }, '/r')).toMatchObject({ keepData: true });
    expect(parseOptions(['--quick', '--keep-data', '--repeat', '2'], {}, '/r')).toMatchObject({ keepData: true, repeat: 2, quick: true });
  });
});

describe('median', () => {
  it('takes the middle value, the mean of the middle two for an even count, and skips NaN', () => {
    expect(median([0.3, 0.1, 0.2])).toBe(0.2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 7])).toBe(7);
    expect(median([])).toBeNaN();
  });
});

describe('medianRuns', () => {
  it('folds the rounds of each point into their median, with the spread beside it in the table', () => {
    const runs = [0.3, 0.2, 0.24].map((cpu, i) => run('noop', i + 1, { cpuMsPerCrash: cpu, peakRssBytes: (500 + 10 * i) * 1e6 }));
    const [folded, ...rest] = medianRuns(runs);
    expect(rest).toEqual([]);
    expect(folded).toMatchObject({
      rounds: 3,
      cpuMsPerCrash: 0.24,
      cpuMsPerCrashRange: [0.2, 0.3],
      peakRssBytes: 510e6,
      peakRssRange: [500e6, 520e6],
      ok2xx: 3000,
    });
    expect(folded!.round).toBeUndefined();
    expect(formatTable([folded!])).toMatch(/0\.240 \(0\.200–0\.300\)\s+0\s+0\s+510 \(500–520\)/);
  });

  it('judges a target on the median: one slow round of three does not fail it, two do', () => {
    const one = [0.2, 0.3, 0.22].map((cpu, i) => run('noop', i + 1, { cpuMsPerCrash: cpu }));
    expect(target(medianRuns(one), '4 KB: noop CPU').status).toBe('PASS');
    expect(target(medianRuns(one), '4 KB: noop CPU').details[0]).toContain('median of 3 rounds: 0.200–0.300');
    const two = [0.2, 0.3, 0.27].map((cpu, i) => run('noop', i + 1, { cpuMsPerCrash: cpu }));
    expect(target(medianRuns(two), '4 KB: noop CPU').status).toBe('FAIL');
  });

  it('never averages a failure away: a non-2xx, a failed probe or a crash missing on disk in any round fails the target', () => {
    const runs = [
      run('fs', 1, { verification: { acknowledged: 10, complete: 10, missing: [] } }),
      run('fs', 2, { non2xx: 1, statusCodes: { '200': 999, '503': 1 }, verification: { acknowledged: 10, complete: 9, missing: ['bp-x'] } }),
      run('fs', 3, { verification: { acknowledged: 10, complete: 10, missing: [] } }),
    ];
    const [folded] = medianRuns(runs);
    expect(folded).toMatchObject({ non2xx: 1, statusCodes: { '200': 2999, '503': 1 }, verification: { acknowledged: 30, complete: 29, missing: ['bp-x'] } });
    expect(target([folded!], 'collector: zero non-2xx').status).toBe('FAIL');
    expect(target([folded!], 'fs: every acknowledged').status).toBe('FAIL');

    const beats = [1, 2, 3].map((i) =>
      run('noop', i, { size: '4m', heartbeat: { samples: 50, failures: i === 2 ? 1 : 0, p50Ms: 2, p99Ms: 10 * i, maxMs: 10 * i } }),
    );
    const [hb] = medianRuns(beats);
    expect(hb!.heartbeat).toEqual({ samples: 150, failures: 1, p50Ms: 2, p99Ms: 20, maxMs: 30 });
    expect(target([hb!], 'collector /__lbheartbeat__ p99 < 50 ms during 4 MB load').status).toBe('FAIL');
  });

  it('takes each ratio against the reference of the same round, then their median', () => {
    const runs = [
      run('raw', 1, { crashesPerS: 1000 }),
      run('noop', 1, { crashesPerS: 500 }),
      run('raw', 2, { crashesPerS: 2000 }),
      run('noop', 2, { crashesPerS: 500 }),
      run('raw', 3, { crashesPerS: 1000 }),
      run('noop', 3, { crashesPerS: 300 }),
    ];
    computeRatios(runs);
    expect(runs.filter((r) => r.server === 'noop').map((r) => r.ratio)).toEqual([0.5, 0.25, 0.3]);
    const noop = medianRuns(runs).find((r) => r.server === 'noop')!;
    expect(noop.ratio).toBe(0.3);
    expect(noop.crashesPerS).toBe(500);
  });

  it('keeps a single run as it is', () => {
    const only = run('noop', 1);
    expect(medianRuns([only])).toEqual([only]);
  });
});
