/** The wait after the `failures`-th failure in a row: doubling from `baseMs`, capped at `maxMs`. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * Whether storage or publishing is failing, since when, and until when the
 * movers hold off. One failure per attempt; one success ends the outage.
 */
export class Outage {
  private failures = 0;
  private failingSince = 0;
  private backoffUntil = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Failing since (epoch ms), or undefined. */
  get since(): number | undefined {
    return this.failures > 0 ? this.failingSince : undefined;
  }

  /** How long the movers should still hold off (≤ 0: go). */
  waitMs(): number {
    return this.backoffUntil - this.now();
  }

  /** Records a failed attempt and backs off further; true when it starts an outage. */
  failed(): boolean {
    const first = this.failures === 0;
    if (first) this.failingSince = this.now();
    this.failures++;
    this.backoffUntil = this.now() + backoffDelay(this.failures, this.baseMs, this.maxMs);
    return first;
  }

  /** Records an attempt that worked; how long the outage it ends lasted (ms), or undefined when there was none. */
  succeeded(): number | undefined {
    const lasted = this.failures > 0 ? this.now() - this.failingSince : undefined;
    this.failures = 0;
    this.backoffUntil = 0;
    return lasted;
  }
}
