import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { processTree } from './rss';

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux we run on (`getconf CLK_TCK`). */
const TICKS_PER_S = 100;

/** utime + stime of one process in ms (undefined when it is gone). */
function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/** CPU ms (user + system) each process of the tree under `pid`, itself included, has used so far. */
export function treeCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of processTree(pid)) {
    const ms = cpuMsOf(p);
    if (ms !== undefined) out.set(p, ms);
  }
  return out;
}

export interface CpuMeter {
  /** CPU ms (user + system) the server's whole process tree used since the meter started. */
  stop(): number;
}

/**
 * CPU time of a process tree over an interval, from /proc: per process, the
 * difference of utime + stime; a process that appeared counts from 0; one
 * that exited during the interval loses what it used after the start (the
 * collector's workers live for the whole run, so nothing is lost in practice).
 * The tree is re-read at the end, so workers forked in between count.
 */
export function meterCpu(pid: number): CpuMeter {
  const before = treeCpu(pid);
  return {
    stop() {
      let total = 0;
      for (const [p, ms] of treeCpu(pid)) total += ms - (before.get(p) ?? 0);
      return total;
    },
  };
}

/**
 * CPU ms one gunzip of `gz` costs in this process (the mean of enough
 * rounds to take ~200 ms): the collector's gzip rows may cost this much more
 * than its plain rows plus the target's 1.5× slack.
 */
export function inflateCpuMs(gz: Buffer): number {
  let rounds = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < 200_000 || rounds < 3) {
    gunzipSync(gz);
    rounds++;
    const d = process.cpuUsage(start);
    used = d.user + d.system;
  }
  return used / 1000 / rounds;
}
