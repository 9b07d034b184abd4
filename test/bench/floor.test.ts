import { parseOptions } from '../../bench/lib/options';
import { evaluateTargets, type RunRecord } from '../../bench/lib/report';
import { runRecord } from './run-record';

describe('raw-sha, the floor', () => {
  it('runs only when --only names it, right after raw', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ servers: ['raw', 'noop', 'raw-durable', 'fs'] });
    expect(parseOptions(['--only', 'noop,raw-sha,raw'], {}, '/r')).toMatchObject({ servers: ['raw', 'raw-sha', 'noop'] });
  });

  it('is printed beside the CPU target of the same load point, and judged by nothing', () => {
    const at = (over: Partial<RunRecord>) => runRecord('noop', undefined, { size: '4m', ...over });
    const runs = [at({ server: 'raw-sha', cpuMsPerCrash: 3.6 }), at({ cpuMsPerCrash: 6.1 }), at({ server: 'raw-sha', connections: 64, cpuMsPerCrash: 9 })];
    const cpu = evaluateTargets(runs).find((t) => t.name.startsWith('4 MB: noop CPU'))!;
    expect(cpu.details).toEqual(['FAIL 4 MB plain 16 conns: 6.100 ms; floor (raw-sha: read + sha256) 3.600 ms']);
    const rss = evaluateTargets(runs).find((t) => t.name.startsWith('collector peak RSS'))!;
    expect(rss.details).toHaveLength(1);
  });
});
