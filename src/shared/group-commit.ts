/**
 * Group commit for durable writes: fsyncs requested close together are
 * issued together, so the filesystem commits them in one journal transaction
 * instead of one each.
 *
 * The window is given in microseconds. Node's timers count whole
 * milliseconds, so a window under 1000 µs waits until the end of the current
 * event-loop turn (`setImmediate`: every I/O completion already delivered is
 * handled first, and each may add its fsync to the batch); 1000 µs and more
 * wait that many milliseconds, rounded. 0 = no waiting: each fsync is issued
 * at once.
 */
export function afterWindow(windowUs: number, fn: () => void): void {
  if (windowUs <= 0) fn();
  else if (windowUs < 1000) setImmediate(fn);
  else setTimeout(fn, Math.round(windowUs / 1000));
}

/** Resolves once the window has passed (at once for 0). */
export function windowElapsed(windowUs: number): Promise<void> {
  return windowUs <= 0 ? Promise.resolve() : new Promise((resolve) => afterWindow(windowUs, resolve));
}

interface Pending {
  run: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * File fsyncs (or any calls that gain from being issued at once) gathered
 * over a window and then issued together, each on its own: a failure is the
 * failure of that call only. The first call of an empty batch opens the
 * window; every call made before it closes joins the batch.
 */
export class SyncBatch {
  private pending: Pending[] = [];

  constructor(private readonly windowUs: number) {}

  /** Runs `run` with the batch it joins; settles as `run` does. */
  run(run: () => Promise<void>): Promise<void> {
    if (this.windowUs <= 0) return run();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ run, resolve, reject });
      if (this.pending.length === 1) afterWindow(this.windowUs, () => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const p of batch) {
      // A synchronous throw is a failure of this call, not of the batch.
      Promise.resolve().then(p.run).then(p.resolve, p.reject);
    }
  }
}
