import { readFileSync, readdirSync } from 'node:fs';

/** VmRSS of one process in bytes (0 when it is gone). */
function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children of each of its threads. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // thread gone
    }
  }
  return out;
}

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
  const seen = new Set<number>();
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    todo.push(...childrenOf(p));
  }
  return [...seen];
}

/** RSS of the whole tree, in bytes, with the root's own and the largest descendant's. */
export function treeRss(pid: number): { bytes: number; processes: number; rootBytes: number; largestChildBytes: number } {
  const pids = processTree(pid);
  let bytes = 0;
  let rootBytes = 0;
  let largestChildBytes = 0;
  for (const p of pids) {
    const r = rssOf(p);
    bytes += r;
    if (p === pid) rootBytes = r;
    else largestChildBytes = Math.max(largestChildBytes, r);
  }
  return { bytes, processes: pids.length, rootBytes, largestChildBytes };
}

export interface RssPeak {
  peakBytes: number;
  processes: number;
  rootBytes: number;
  largestChildBytes: number;
  samples: number;
}

export interface RssSampler {
  /** Stops sampling; returns the peak total RSS (bytes) and its breakdown at that moment. */
  stop(): RssPeak;
}

/** Samples the tree's summed VmRSS every `intervalMs` and keeps the peak. */
export function sampleRss(pid: number, intervalMs = 200): RssSampler {
  const peak: RssPeak = { peakBytes: 0, processes: 0, rootBytes: 0, largestChildBytes: 0, samples: 0 };
  const tick = () => {
    const t = treeRss(pid);
    peak.samples++;
    if (t.bytes > peak.peakBytes)
      Object.assign(peak, { peakBytes: t.bytes, processes: t.processes, rootBytes: t.rootBytes, largestChildBytes: t.largestChildBytes });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { ...peak };
    },
  };
}
