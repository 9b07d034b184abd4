/**
 * Bytes of request bodies a worker processes in one turn of its event loop.
 *
 * libuv reads up to 32 × 64 KiB from a socket in one go, and each chunk is
 * gunzipped, parsed and hashed before the next: with a dozen fast uploads a
 * turn took 200 ms, and a health probe waited for all of it. Uploads that
 * find the budget spent wait for the next turn, so a turn handles about
 * `bytesPerTurn` of bodies (plus one chunk) whatever the number of uploads.
 */
export class TurnBudget {
  private spent = 0;
  private resetScheduled = false;
  private readonly reset = () => {
    this.spent = 0;
    this.resetScheduled = false;
  };

  constructor(
    private readonly bytesPerTurn: number,
    private readonly nextTurn: (fn: () => void) => void = setImmediate,
  ) {}

  /** Counts `bytes` against this turn; false once the turn's budget is spent. */
  spend(bytes: number): boolean {
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      this.nextTurn(this.reset);
    }
    this.spent += bytes;
    return this.spent <= this.bytesPerTurn;
  }

  /** Runs `fn` in the next turn, after the budget has been renewed. */
  waitForNextTurn(fn: () => void): void {
    this.nextTurn(fn);
  }
}
