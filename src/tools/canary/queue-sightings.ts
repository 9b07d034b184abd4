import { isValidCrashId } from '../../shared/crash-id';

/** Crash ids seen on the queue (any crash id: a subscription also carries real crashes), with when, and the probes waiting for one. */
export class QueueSightings {
  private readonly seen = new Map<string, number>();
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly forgetAfterMs: number) {}

  /** The queue watcher's callback. */
  readonly onId = (id: string): void => {
    if (!isValidCrashId(id) || this.seen.has(id)) return;
    this.seen.set(id, Date.now());
    this.waiting.get(id)?.();
  };

  /** Forgets ids no probe waits for once older than `forgetAfterMs`. */
  forgetOld(): void {
    const cutoff = Date.now() - this.forgetAfterMs;
    for (const [id, at] of this.seen) if (at < cutoff && !this.waiting.has(id)) this.seen.delete(id);
  }

  /** Ms from `t0` until `crashId` was seen, or undefined when not by `deadline`. */
  waitFor(crashId: string, t0: number, deadline: number): Promise<number | undefined> {
    const at = this.seen.get(crashId);
    if (at !== undefined) return Promise.resolve(at - t0);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiting.delete(crashId);
          resolve(undefined);
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiting.set(crashId, () => {
        clearTimeout(timer);
        this.waiting.delete(crashId);
        resolve(this.seen.get(crashId)! - t0);
      });
    });
  }
}
