import type { SpoolStats } from '../../shared/spool/spool-dir';

/** Room kept below CRASHMOVER_SPOOL_MAX_BYTES: the heartbeat calls the spool full once less than this is left. */
export const HEADROOM = 1024 * 1024;

/** Where a crash goes: refused (it would not fit), or written into this worker's claims or into `ready/`. */
export type Admission = { refuse: 'full' } | { into: 'claimed' | 'ready' };

export interface AdmissionInput {
  /** The crash's entry size. */
  bytes: number;
  /** The spool's bytes as best known (ByteBudget.usedBytes). */
  usedBytes: number;
  maxBytes: number;
  /** Entries this worker has claimed and not yet moved. */
  claimed: number;
  maxClaimed: number;
}

/**
 * Never accept what cannot be stored: a crash that would take the spool past
 * `maxBytes` is refused. One that fits is claimed by this worker while fewer
 * than `maxClaimed` wait here, and otherwise left in `ready/` for any worker.
 */
export function admit(a: AdmissionInput): Admission {
  if (a.usedBytes + a.bytes > a.maxBytes) return { refuse: 'full' };
  return { into: a.claimed < a.maxClaimed ? 'claimed' : 'ready' };
}

/** A just-written crash's bytes stay in memory only when a mover will take it right away (it is read back otherwise). */
export function keepInMemory(inFlight: number, queued: number, movers: number): boolean {
  return inFlight + queued < movers;
}

/**
 * The spool's bytes as one worker knows them: the primary's last node-wide
 * listing plus this worker's own writes since (the limit can thus be passed
 * by at most what other workers write in one listing interval).
 */
export class ByteBudget {
  private stats: SpoolStats | undefined;
  private addedSince: Array<{ at: number; bytes: number }> = [];

  constructor(
    readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The primary's node-wide listing (every heartbeat): it counts the writes made before it. */
  update(stats: SpoolStats): void {
    this.stats = stats;
    this.addedSince = this.addedSince.filter((a) => a.at >= stats.scannedAt);
  }

  /** This worker wrote an entry of `bytes`. */
  record(bytes: number): void {
    this.addedSince.push({ at: this.now(), bytes });
  }

  usedBytes(): number {
    return (this.stats?.bytes ?? 0) + this.addedSince.reduce((n, a) => n + a.bytes, 0);
  }

  isFull(): boolean {
    return this.usedBytes() + HEADROOM > this.maxBytes;
  }
}
