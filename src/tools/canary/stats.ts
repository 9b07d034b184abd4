/**
 * The tally of a canary run: one outcome per crash, summed into counts,
 * failures by stage and latency percentiles. Pure.
 */

/**
 * Where a crash failed, in pipeline order: `skipped` (not sent: too many
 * submissions still in flight), `submit` (no 200 CrashID answer), `storage`
 * (raw crash not visible within the timeout), `content` (stored, but marker,
 * bytes or checksum differ), `queue` (id not seen on the queue in time).
 */
export const STAGES = ['skipped', 'submit', 'storage', 'content', 'queue'] as const;
export type Stage = (typeof STAGES)[number];

export interface Outcome {
  seq: number;
  crashId?: string;
  /** The first stage that failed; undefined when the crash went all the way. */
  failed?: Stage;
  detail?: string;
  /** Milliseconds from sending to: the 200 answer, the raw crash visible in storage, the id seen on the queue. */
  ackMs?: number;
  storedMs?: number;
  queuedMs?: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  sum: number;
}

export interface Summary {
  /** Crashes due so far (sent + skipped). */
  planned: number;
  sent: number;
  acknowledged: number;
  stored: number;
  published: number;
  succeeded: number;
  /** Finished without succeeding (skipped ticks included). */
  failed: number;
  /** Sent but not finished yet. */
  pending: number;
  failures: Record<Stage, number>;
  /** Percent of finished crashes that went all the way; 100 when none finished. */
  successRate: number;
  latency: { ack: Percentiles; stored: Percentiles; queued: Percentiles };
  /** A few failures, for the report. */
  examples: Outcome[];
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    sum: sorted.reduce((a, b) => a + b, 0),
  };
}

export function summarize(outcomes: Outcome[], opts: { sent: number; skipped: number }): Summary {
  const failures = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  let acknowledged = 0;
  let stored = 0;
  let published = 0;
  let succeeded = 0;
  const ack: number[] = [];
  const storedMs: number[] = [];
  const queuedMs: number[] = [];
  for (const o of outcomes) {
    if (o.failed) failures[o.failed]++;
    else succeeded++;
    if (o.ackMs !== undefined) {
      acknowledged++;
      ack.push(o.ackMs);
    }
    if (o.storedMs !== undefined && o.failed !== 'content') {
      stored++;
      storedMs.push(o.storedMs);
    }
    if (o.queuedMs !== undefined) {
      published++;
      queuedMs.push(o.queuedMs);
    }
  }
  // Skipped ticks never produce an outcome of their own.
  failures.skipped += opts.skipped;
  const finished = outcomes.length + opts.skipped;
  return {
    planned: opts.sent + opts.skipped,
    sent: opts.sent,
    acknowledged,
    stored,
    published,
    succeeded,
    failed: finished - succeeded,
    pending: opts.sent - outcomes.length,
    failures,
    successRate: finished === 0 ? 100 : (100 * succeeded) / finished,
    latency: { ack: percentiles(ack), stored: percentiles(storedMs), queued: percentiles(queuedMs) },
    examples: outcomes.filter((o) => o.failed).slice(0, 5),
  };
}
