import type { RunRecord } from './report';

/**
 * `--repeat N`: every load point runs N times, in N rounds of all points and
 * servers (so a slow minute of the machine hits every server, not one), each
 * round on servers started afresh (bench/run.ts), and
 * the table and targets judge one record per point: the median of its rounds.
 * On 2 shared cores one 8 s run of the same code moves ±25 % in CPU ms per
 * crash, so a target within that of its figure passes or fails by chance in a
 * single run; the median of 3 rounds moves far less (docs/performance.md).
 */

const key = (r: RunRecord) => `${r.server}/${r.size}/${r.encoding}/${r.connections}`;

/** The middle value (the mean of the two middle ones for an even count); NaN when there is none. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const sum = (runs: readonly RunRecord[], pick: (r: RunRecord) => number) => runs.reduce((s, r) => s + pick(r), 0);
const mid = (runs: readonly RunRecord[], pick: (r: RunRecord) => number) => median(runs.map(pick));

/** One record for the rounds of one load point: medians of what is measured, sums of what is counted. */
function combine(rounds: readonly RunRecord[]): RunRecord {
  const first = rounds[0]!;
  if (rounds.length === 1) return first;
  const cpu = rounds.map((r) => r.cpuMsPerCrash).filter((x) => !Number.isNaN(x));
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const out: RunRecord = {
    ...first,
    round: undefined,
    rounds: rounds.length,
    durationS: sum(rounds, (r) => r.durationS),
    ok2xx: sum(rounds, (r) => r.ok2xx),
    non2xx: sum(rounds, (r) => r.non2xx),
    errors: sum(rounds, (r) => r.errors),
    timeouts: sum(rounds, (r) => r.timeouts),
    unexpectedBodies: sum(rounds, (r) => r.unexpectedBodies),
    statusCodes,
    crashesPerS: mid(rounds, (r) => r.crashesPerS),
    mbPerS: mid(rounds, (r) => r.mbPerS),
    latencyP50Ms: mid(rounds, (r) => r.latencyP50Ms),
    latencyP99Ms: mid(rounds, (r) => r.latencyP99Ms),
    latencyMaxMs: Math.max(...rounds.map((r) => r.latencyMaxMs)),
    cpuMs: sum(rounds, (r) => r.cpuMs),
    cpuMsPerCrash: median(cpu),
    cpuMsPerCrashRange: cpu.length ? [Math.min(...cpu), Math.max(...cpu)] : undefined,
    peakRssBytes: mid(rounds, (r) => r.peakRssBytes),
    peakRssRange: [Math.min(...rounds.map((r) => r.peakRssBytes)), Math.max(...rounds.map((r) => r.peakRssBytes))],
    rssPrimaryBytes: mid(rounds, (r) => r.rssPrimaryBytes),
    rssLargestWorkerBytes: mid(rounds, (r) => r.rssLargestWorkerBytes),
  };
  const ratios = rounds.map((r) => r.ratio).filter((x): x is number => x !== undefined);
  out.ratio = ratios.length === rounds.length ? median(ratios) : undefined;
  const beats = rounds.map((r) => r.heartbeat).filter((h) => h !== undefined);
  if (beats.length === rounds.length) {
    out.heartbeat = {
      samples: beats.reduce((s, h) => s + h.samples, 0),
      failures: beats.reduce((s, h) => s + h.failures, 0),
      p50Ms: median(beats.map((h) => h.p50Ms)),
      p99Ms: median(beats.map((h) => h.p99Ms)),
      maxMs: Math.max(...beats.map((h) => h.maxMs)),
    };
  }
  const checks = rounds.map((r) => r.verification).filter((v) => v !== undefined);
  if (checks.length) {
    out.verification = {
      acknowledged: checks.reduce((s, v) => s + v.acknowledged, 0),
      complete: checks.reduce((s, v) => s + v.complete, 0),
      missing: checks.flatMap((v) => v.missing).slice(0, 5),
    };
  }
  return out;
}

/**
 * The runs of every round (each with its ratio against the reference of the
 * same round) folded into one record per load point, in the order the points
 * first ran. Failures are never averaged away: non-2xx, errors and crashes
 * missing on disk are summed over the rounds, the heartbeat's failed probes
 * too, and the worst latency is kept.
 */
export function medianRuns(runs: readonly RunRecord[]): RunRecord[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = key(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map(combine);
}
