import type { RunRecord } from '../../bench/lib/report';

/** A bench run record at 4 KB plain, 16 connections, 1000 crashes in 8 s, with `over` on top. */
export function runRecord(server: RunRecord['server'], round: number | undefined, over: Partial<RunRecord> = {}): RunRecord {
  return {
    size: '4k',
    bodyBytes: 4096,
    wireBytes: 4096,
    encoding: 'plain',
    connections: 16,
    server,
    durationS: 8,
    ok2xx: 1000,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: { '200': 1000 },
    unexpectedBodies: 0,
    crashesPerS: 125,
    mbPerS: 0.5,
    latencyP50Ms: 1,
    latencyP99Ms: 5,
    latencyMaxMs: 9,
    cpuMs: 200,
    cpuMsPerCrash: 0.2,
    peakRssBytes: 400e6,
    rssProcesses: 6,
    rssPrimaryBytes: 50e6,
    rssLargestWorkerBytes: 70e6,
    rssBudgetBytes: 500e6,
    ...(round === undefined ? {} : { round }),
    ...over,
  };
}
