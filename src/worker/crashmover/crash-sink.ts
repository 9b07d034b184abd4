import type { CrashReport } from '../../shared/crash-report';

/**
 * What became of a crash handed to a sink:
 * - `saved`: stored (or durably spooled): the client gets its CrashID;
 * - `failed`: not stored, for now (storage down, misconfigured): 500 with `Retry-After`;
 * - `unstorable`: this crash can never be stored (a permanent failure): 400, and no retry.
 */
export type SinkOutcome = 'saved' | 'failed' | 'unstorable';

/**
 * The moment of acknowledgement. The HTTP layer answers with a CrashID only
 * when `submit` resolves `saved`: today that means "in storage" (the
 * crashmover); a spool would mean "fsynced to the local spool".
 */
export interface CrashSink {
  /** Resolves with the outcome; rejects with QueueFullError when it cannot take the crash now. */
  submit(crash: CrashReport): Promise<SinkOutcome>;
  /** Crashes waiting for a free mover. */
  readonly queueSize: number;
  /** Crashes being saved or published right now. */
  readonly inFlight: number;
  /** Seconds a client is told to wait (`Retry-After`) when its crash was refused or failed (CRASHMOVER_RETRY_AFTER_SECONDS). */
  readonly retryAfterSeconds: number;
  /** Stops taking crashes and resolves once every accepted one is done. */
  drain(): Promise<void>;
}

/**
 * The sink cannot take the crash now (queue or spool full, shutting down,
 * storage failing): the client gets 503 and Retry-After. `reason` is the
 * metrics tag and what code may act on; `why` is for people.
 */
export class QueueFullError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly why = 'the collector is busy (save queue full)',
    readonly reason = 'queue_full',
  ) {
    super(why);
    this.name = 'QueueFullError';
  }
}
