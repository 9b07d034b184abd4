/** An upload waiting for its turn: its place in line and how it goes on. */
interface Waiter {
  place: number;
  resume: () => void;
}

/**
 * Bytes of request bodies a worker processes in one turn of its event loop,
 * and the line of uploads waiting for the next turn.
 *
 * libuv reads up to 32 × 64 KiB from a socket in one go, and each chunk is
 * gunzipped, parsed and hashed before the next: with a dozen fast uploads a
 * turn took 200 ms, and a health probe waited for all of it. Uploads that
 * find the budget spent wait for the next turn, so a turn handles about
 * `bytesPerTurn` of bodies (plus one chunk) whatever the number of uploads.
 *
 * Who goes on next turn: the upload that started first, alone, while the
 * turn before spent its whole budget; everyone waiting once a turn leaves
 * some unspent (an upload finished, or the first in line had nothing to
 * read). Resuming everyone every turn (the first design) gave each upload
 * one chunk per turn, so all of a worker's uploads were half read at once:
 * 14 uploads of 4 MB in one worker held ~28 MB of chunks, V8 ran a
 * mark-compact every 14–29 crashes for memory it could not free, and a
 * crash cost 5.3–6.3 ms of CPU against 3.9 with 4 uploads (4.0–4.1 now,
 * with 11–12 mark-compacts per 1,500 crashes). Finishing the oldest
 * first leaves the others' bytes in their sockets, where TCP holds them
 * back at no cost to the worker (docs/performance.md, session 7).
 */
export class TurnBudget {
  private spent = 0;
  private turnEndScheduled = false;
  private nextPlace = 0;
  /** Oldest place first. */
  private readonly waiting: Waiter[] = [];
  private readonly turnEnded = () => {
    const spentAll = this.spent >= this.bytesPerTurn;
    this.spent = 0;
    this.turnEndScheduled = false;
    const next = this.waiting.splice(0, spentAll ? 1 : this.waiting.length);
    // Whoever resumes may find nothing to read: the rest still get their turn.
    if (this.waiting.length > 0) this.scheduleTurnEnd();
    for (const w of next) w.resume();
  };

  constructor(
    private readonly bytesPerTurn: number,
    private readonly nextTurn: (fn: () => void) => void = setImmediate,
  ) {}

  /** A new upload's place in line: a lower place resumes first. */
  enter(): number {
    return this.nextPlace++;
  }

  /** Counts `bytes` against this turn; false once the turn's budget is spent. */
  spend(bytes: number): boolean {
    this.scheduleTurnEnd();
    this.spent += bytes;
    return this.spent <= this.bytesPerTurn;
  }

  /** Runs `resume` in a later turn, after the budget has been renewed, in the order of `place`. */
  waitForNextTurn(resume: () => void, place = Number.MAX_SAFE_INTEGER): void {
    const { waiting } = this;
    let i = waiting.length;
    while (i > 0 && waiting[i - 1].place > place) i--;
    waiting.splice(i, 0, { place, resume });
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    this.nextTurn(this.turnEnded);
  }
}
