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
  /** Resolves with the outcome; rejects with SinkRefusal when it cannot take the crash now. */
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
 * Every reason a sink may refuse a crash it cannot take now, declared once
 * with the sentence the client reads in its 503 (fastify's error registry is
 * the model). The reason is the metrics tag (`collector.crashmover.refused.count`,
 * `collector.spool.refused.count`) and what code and tests act on.
 */
export const SINK_REFUSALS = {
  /** Crashmover: every mover busy and `CRASHMOVER_MAX_QUEUE_SIZE` crashes waiting. */
  queue_full: 'the collector is busy (save queue full)',
  /** Either sink: the worker is draining to stop. */
  draining: 'the collector is shutting down',
  /** Crashmover: saves are failing, so the client is answered at once instead of after the retries. */
  storage_failing: 'the collector cannot save crashes right now',
  /** Spool: `CRASHMOVER_SPOOL_MAX_BYTES` reached. */
  full: 'the spool is full (CRASHMOVER_SPOOL_MAX_BYTES)',
  /** Spool: the entry could not be written (disk full, read-only, gone). */
  write_error: 'the crash could not be stored locally',
} as const;

export type SinkRefusalReason = keyof typeof SINK_REFUSALS;

/**
 * The sink cannot take the crash now: the client gets 503 and `Retry-After`.
 * `reason` is what code acts on; `why` is for people (the registry's sentence,
 * or a more precise one that names the failing backend).
 */
export class SinkRefusal extends Error {
  constructor(
    readonly reason: SinkRefusalReason,
    readonly retryAfterSeconds: number,
    readonly why: string = SINK_REFUSALS[reason],
  ) {
    super(why);
    this.name = 'SinkRefusal';
  }
}
