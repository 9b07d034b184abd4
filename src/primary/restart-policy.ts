/**
 * When to replace a worker that died, and when workers dying means the node
 * cannot start. Pure: the caller gives the time and the fleet state, and acts
 * on the verdict (fork, wait, exit); nothing here forks, waits or exits.
 *
 * A worker that was listening had started fine: something outside killed it
 * (the OOM killer, an operator) or a request did. It is replaced at once and
 * counts toward neither the back-off nor the crash loop — a back-off there
 * left the node with no listening worker, and node:cluster closes the shared
 * socket when no worker holds it (clients refused). Back-off and the
 * crash-loop verdict are for workers that die before they listen.
 */

/** The first start-up death is retried after this long; each further one within the window doubles it. */
export const FIRST_RESTART_DELAY_MS = 100;

export interface RestartLimits {
  /** WORKER_RESTART_MAX_BACKOFF, in ms. */
  maxBackoffMs: number;
  /** CRASH_LOOP_DEATHS: start-up deaths within the window that make a crash loop. */
  crashLoopDeaths: number;
  /** CRASH_LOOP_WINDOW, in ms. */
  crashLoopWindowMs: number;
}

export interface WorkerDeath {
  /** When it died (ms, any monotonic-enough clock; the same one every call). */
  at: number;
  /** It had reported that it listens: it was serving. */
  wasListening: boolean;
  /** Other workers listening right now, the dead one not counted. */
  othersListening: number;
}

export type RestartVerdict =
  /** Fork a replacement after `delayMs` (0: at once). */
  | { kind: 'replace'; delayMs: number; startupDeaths: number }
  /**
   * Workers keep dying at start-up but others still serve: keep them, say so
   * loudly, and try again after `delayMs` (the maximum back-off).
   */
  | { kind: 'crash-loop-serving'; delayMs: number; startupDeaths: number }
  /** Workers keep dying at start-up and none listens: the node cannot start; give up. */
  | { kind: 'crash-loop-give-up'; startupDeaths: number };

export class RestartPolicy {
  /** Times of the start-up deaths within the window, oldest first. */
  private startupDeaths: number[] = [];

  constructor(private readonly limits: RestartLimits) {}

  onDeath(death: WorkerDeath): RestartVerdict {
    this.forgetBefore(death.at - this.limits.crashLoopWindowMs);
    if (death.wasListening) return { kind: 'replace', delayMs: 0, startupDeaths: this.startupDeaths.length };
    this.startupDeaths.push(death.at);
    const n = this.startupDeaths.length;
    if (n >= this.limits.crashLoopDeaths) {
      return death.othersListening > 0
        ? { kind: 'crash-loop-serving', delayMs: this.limits.maxBackoffMs, startupDeaths: n }
        : { kind: 'crash-loop-give-up', startupDeaths: n };
    }
    return { kind: 'replace', delayMs: Math.min(this.limits.maxBackoffMs, FIRST_RESTART_DELAY_MS * 2 ** (n - 1)), startupDeaths: n };
  }

  private forgetBefore(t: number): void {
    while (this.startupDeaths.length > 0 && this.startupDeaths[0]! < t) this.startupDeaths.shift();
  }
}
