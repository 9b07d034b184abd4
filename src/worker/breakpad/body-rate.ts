/**
 * The slowest body we keep reading: at least `minRate` bytes per second,
 * averaged over each window of `windowMs` from the first body byte on. A
 * short stall inside a window is forgiven; a client trickling bytes just often
 * enough to beat the idle timeout is not. `minRate` 0 accepts any rate.
 */
export class BodyRateFloor {
  private windowStart: number | undefined;
  private bytes = 0;

  constructor(
    private readonly minRate: number,
    readonly windowMs: number,
  ) {}

  /** Counts `n` body bytes received at `now` (ms). */
  received(n: number, now: number): void {
    this.windowStart ??= now;
    this.bytes += n;
  }

  /**
   * Whether the window that ends at `now` fell short. Once a window is
   * complete (judged either way) the next one starts at `now`.
   */
  tooSlow(now: number): boolean {
    if (this.minRate === 0 || this.windowStart === undefined) return false;
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return false;
    const slow = this.bytes < (this.minRate * elapsed) / 1000;
    this.windowStart = now;
    this.bytes = 0;
    return slow;
  }

  /** Leaves `ms` out of the current window: time the worker held the body back, not the client. */
  excuse(ms: number): void {
    if (this.windowStart !== undefined) this.windowStart += ms;
  }
}
