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

/**
 * Every reason a failure can carry: the `reason` tag of
 * `collector.crashmover.save_failure.count` and of the heartbeat, and what
 * tests assert. One list, so a new reason is added here and nowhere else.
 */
export const FAILURE_REASONS = [
  // the backend did not answer, or answered that it cannot now
  'timeout',
  'unreachable',
  'unavailable',
  'throttled',
  'status',
  'aborted',
  'cancelled',
  'checksum_mismatch',
  'unknown',
  // the node's settings
  'setting_missing',
  'setting_invalid',
  'bucket_missing',
  'topic_missing',
  'queue_missing',
  'no_credentials',
  'bad_credentials',
  'permission_denied',
  'no_region',
  'wrong_region',
  'rejected',
  'port_unavailable',
  'tls_file_unreadable',
  'preflight',
  'tls_files_invalid',
  'dir_unwritable',
  'startup_timeout',
  // the crash itself
  'unserializable',
  'invalid_dump_name',
  'corrupt_entry',
  // the canary's own checks
  'storage_noop',
  'publish_noop',
  'subscription_missing',
  'subscription_unreadable',
  'subscription_wrong_topic',
  'queue_unreadable',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** An error that says what kind of failure it is, and a short machine-readable reason (`snake_case`). */
export class KindedError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly reason: FailureReason,
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
export function failureReason(err: unknown): FailureReason {
  const reason = err !== null && typeof err === 'object' && 'reason' in err ? (err as { reason: unknown }).reason : undefined;
  return typeof reason === 'string' && KNOWN_REASONS.has(reason) ? (reason as FailureReason) : 'unknown';
}

const KNOWN_REASONS: ReadonlySet<string> = new Set(FAILURE_REASONS);

/** Whether another attempt could succeed. */
export const isRetryable = (err: unknown): boolean => failureKind(err) === 'transient';
