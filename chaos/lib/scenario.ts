/** What every scenario reports, and the pieces they share. */
import { sampleHeartbeat, type HeartbeatSampler, type HeartbeatStats } from '../../bench/lib/heartbeat';
import type { ChaosNode } from './node';
import { Tally } from './tally';
import type { Audit } from './verify';

export interface ScenarioOptions {
  seed: number;
  /** Seconds of load (fault scenarios) per scenario. */
  durationS: number;
  /** Requests in the fuzz corpus. */
  fuzzCount: number;
  log(msg: string): void;
}

export interface CategoryRow {
  category: string;
  tally: Tally;
  /** Requests owed an answer that got none. */
  droppedDue: number;
  /** Controls that were not accepted. */
  controlsRefused: number;
  lost: number;
}

export interface ScenarioResult {
  name: string;
  tally: Tally;
  audit: Audit;
  /** Workers the harness killed on purpose. */
  kills: number;
  /** Workers that died without the harness killing them, and replacements forked (from the primary's log). */
  deaths: number;
  replacements: number;
  probe?: HeartbeatStats;
  /** Why the verdict is FAIL (empty: PASS). */
  failures: string[];
  notes: string[];
  categories?: CategoryRow[];
  seconds: number;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function emptyAudit(): Audit {
  return { checked: 0, lost: 0, examples: [] };
}

/** /__lbheartbeat__ 10 times a second on fresh connections, from a worker thread. */
export function probe(port: number): HeartbeatSampler {
  return sampleHeartbeat(port, 10);
}

/** Deaths and replacements summed over the nodes a scenario ran. */
export function workerEvents(nodes: ChaosNode[]): { deaths: number; replacements: number } {
  return { deaths: nodes.reduce((n, x) => n + x.deaths(), 0), replacements: nodes.reduce((n, x) => n + x.replacements(), 0) };
}

/** The audit's verdict lines. */
function lostFailures(audit: Audit): string[] {
  return audit.lost > 0 ? [`${audit.lost} acknowledged crashes lost or not byte for byte, e.g. ${audit.examples.slice(0, 3).join(' | ')}`] : [];
}

/** A scenario's result: its own failures plus any acknowledged crash the audit found lost, and its duration since `started`. */
export function finishScenario(started: number, r: Omit<ScenarioResult, 'seconds'>): ScenarioResult {
  return { ...r, failures: [...r.failures, ...lostFailures(r.audit)], seconds: (Date.now() - started) / 1000 };
}

/** Polls `fn` until true or `timeoutMs`; returns whether it held. */
export async function poll(fn: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await sleep(intervalMs);
  }
}
