/**
 * What a failure means to the code that handles it. The crashmover, the spool
 * and start-up verification act on the kind; metrics count by kind and reason.
 *
 * - `transient`: trying again later can succeed (5xx, 429, timeouts, connection
 *   refused, a full disk). Retried, with back-off.
 * - `permanent`: this input can never be stored, however often it is tried
 *   (a crash that cannot be serialized). Never retried; a spool entry is
 *   quarantined at once.
 * - `configuration`: the node's settings are wrong (bucket or topic missing,
 *   permission denied, bad credentials). No retry helps until an operator
 *   acts: start-up refuses, a running node reports it in `/__heartbeat__`.
 */
export type FailureKind = 'transient' | 'permanent' | 'configuration';

export const FAILURE_KINDS: readonly FailureKind[] = ['transient', 'permanent', 'configuration'];

/** An error that says what kind of failure it is, and a short machine-readable reason (`snake_case`). */
export class KindedError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KindedError';
  }
}

function ownKind(err: unknown): FailureKind | undefined {
  if (err === null || typeof err !== 'object' || !('kind' in err)) return undefined;
  const kind = (err as { kind: unknown }).kind;
  return FAILURE_KINDS.includes(kind as FailureKind) ? (kind as FailureKind) : undefined;
}

/** The kind an error carries; anything that does not say is taken as transient (worth another try). */
export function failureKind(err: unknown): FailureKind {
  return ownKind(err) ?? 'transient';
}

/** The reason an error carries, or `unknown`. */
export function failureReason(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'reason' in err && typeof (err as { reason: unknown }).reason === 'string') {
    return (err as { reason: string }).reason;
  }
  return 'unknown';
}

/** Whether another attempt could succeed. */
export const isRetryable = (err: unknown): boolean => failureKind(err) === 'transient';
