import { failureKind, failureReason, type FailureKind } from '../../shared/failure';

export interface SaveFailure {
  /** Epoch ms of the first failure of this outage. */
  since: number;
  kind: FailureKind;
  reason: string;
  /** The first failure's message, cut short: it names the path or bucket, never annotation values. */
  message: string;
  /** Crashes that failed to save since the outage began. */
  crashes: number;
}

const MAX_MESSAGE = 300;

/**
 * Whether saves are failing right now, from the outcomes of real saves (and
 * probes): one crash that failed for good (every attempt, or a configuration
 * error) starts an outage; one success ends it. Permanent failures say
 * nothing about the storage and are not recorded.
 */
export class SaveHealth {
  private failure: SaveFailure | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get failing(): SaveFailure | undefined {
    return this.failure;
  }

  /** Records a failed save; true when it starts an outage. */
  failed(err: unknown): boolean {
    if (this.failure) {
      this.failure.crashes++;
      return false;
    }
    const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_MESSAGE);
    this.failure = { since: this.now(), kind: failureKind(err), reason: failureReason(err), message, crashes: 1 };
    return true;
  }

  /** Records a save (or probe) that worked; the outage's length in ms when it ends one. */
  succeeded(): number | undefined {
    if (!this.failure) return undefined;
    const lasted = this.now() - this.failure.since;
    this.failure = undefined;
    return lasted;
  }
}
