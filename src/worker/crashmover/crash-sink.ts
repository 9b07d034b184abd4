import type { CrashReport } from '../../shared/crash-report';

/**
 * The moment of acknowledgement. The HTTP layer answers with a CrashID only
 * when `submit` resolves `saved`: today that means "in storage" (the
 * crashmover); a spool would mean "fsynced to the local spool".
 */
export interface CrashSink {
  /** Resolves `saved` or `failed`; rejects with QueueFullError when it cannot take more. */
  submit(crash: CrashReport): Promise<'saved' | 'failed'>;
  /** Crashes waiting for a free mover. */
  readonly queueSize: number;
  /** Crashes being saved or published right now. */
  readonly inFlight: number;
  /** Stops taking crashes and resolves once every accepted one is done. */
  drain(): Promise<void>;
}

/** The sink cannot take the crash now (queue or spool full, shutting down): the client gets 503 and Retry-After. */
export class QueueFullError extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly why = 'the collector is busy (save queue full)',
  ) {
    super(why);
    this.name = 'QueueFullError';
  }
}
