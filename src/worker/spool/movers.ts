import type { Logger } from '../../shared/logging';
import type { Metrics } from '../../shared/metrics';
import type { Outage } from './backoff';
import type { Claimed, Claims } from './claims';

/** Wakes idle movers: a new entry, the end of an outage, a drain or a stop. */
export class Wakeup {
  /** Movers waiting; each removes itself when its wait ends, however it ends. */
  private readonly waiting = new Set<() => void>();

  get size(): number {
    return this.waiting.size;
  }

  /** Ends every wait now. */
  poke(): void {
    for (const w of [...this.waiting]) w();
  }

  /** Resolves after `ms`, or at the next poke. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }
}

export interface MoverLoopOptions {
  concurrentMovers: number;
  /** How long an idle mover waits before looking at `ready/` again. */
  idleScanMs: number;
}

/** Moves one claimed entry; false when it must be tried again later. May reject when the entry file itself misbehaves. */
export type MoveEntry = (claim: Claimed) => Promise<boolean>;

/**
 * `concurrentMovers` loops that each take the next claim (claiming from
 * `ready/` when none is queued), hold off while the outage's back-off lasts,
 * and move it; a claim that must be tried again goes behind the others.
 */
export class Movers {
  private active = 0;
  private draining = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  private loops: Promise<void>[] = [];
  /** Entries moved (or expired, or set aside) by these movers. */
  handled = 0;

  constructor(
    private readonly opts: MoverLoopOptions,
    private readonly claims: Claims,
    private readonly outage: Outage,
    private readonly wake: Wakeup,
    private readonly moveEntry: MoveEntry,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Entries being moved right now. */
  get inFlight(): number {
    return this.active;
  }

  start(): void {
    for (let i = 0; i < this.opts.concurrentMovers; i++) this.loops.push(this.loop());
  }

  /** Resolves once nothing is claimed, being moved, or (at the last look) in `ready/`. */
  drain(): Promise<void> {
    this.draining = true;
    this.wake.poke();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Stops the loops after their current move; claims stay on disk for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.poke();
    await Promise.all(this.loops);
  }

  private checkIdle(): void {
    if (this.draining && this.active === 0 && this.claims.size === 0 && this.claims.readyLooksEmpty) {
      for (const r of this.idleWaiters.splice(0)) r();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let job = this.claims.next();
      if (!job) {
        await this.claims.claimFromReady();
        job = this.claims.next();
      }
      if (!job) {
        this.checkIdle();
        await this.wake.wait(this.opts.idleScanMs);
        continue;
      }
      const wait = this.outage.waitMs();
      if (wait > 0) {
        this.claims.putBack(job);
        await this.wake.wait(Math.min(wait, this.opts.idleScanMs));
        if (this.stopped) break;
        if (this.outage.waitMs() > 0) continue;
        job = this.claims.next();
        if (!job) continue;
      }
      await this.move(job);
    }
  }

  private async move(job: Claimed): Promise<void> {
    this.active++;
    try {
      const done = await this.moveEntry(job).catch((err: NodeJS.ErrnoException) => {
        // The entry file itself misbehaves (vanished, unreadable): never end the loop over it.
        this.logger.error(`${job.entry.crashId}: spool entry ${job.name}: ${err.message}`);
        return err.code === 'ENOENT';
      });
      if (!done) this.claims.retryLater(job);
      else this.handled++;
    } finally {
      this.active--;
      this.metrics.gauge('collector.crashmover.save_queue_size', this.claims.size);
      this.checkIdle();
    }
  }
}
