/**
 * What the S3 storage and the SQS publisher share: the client options (one
 * attempt, bounded time, explicit or default-chain credentials, an endpoint
 * for compatible services) and the reading of SDK errors.
 */

import type { FailureKind, FailureReason } from '../shared/failure';

/** The options both clients take, as the SDKs type them (a subset of S3ClientConfig and SQSClientConfig). */
export interface AwsClientOptions {
  maxAttempts: number;
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: boolean };
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * One attempt per call (the crashmover retries, not the SDK), bounded
 * connection and request times, explicit credentials when both keys are
 * configured (otherwise the SDK's default chain), and an endpoint for
 * compatible services.
 */
export function awsClientOptions(
  c: { region?: string; endpointUrl?: string; accessKey?: string; secretAccessKey?: string },
  timeoutMs: number,
): AwsClientOptions {
  const options: AwsClientOptions = {
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  };
  if (c.region) options.region = c.region;
  if (c.endpointUrl) options.endpoint = c.endpointUrl;
  if (c.accessKey && c.secretAccessKey) options.credentials = { accessKeyId: c.accessKey, secretAccessKey: c.secretAccessKey };
  return options;
}

interface AwsErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Node's network error codes, which the SDK also reports as `TimeoutError` (so that they count as transient). */
const NETWORK_ERROR = /\b(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b|socket hang up/;

/** What an SDK error says, in the terms the messages of s3.ts and sqs.ts need. */
export interface AwsErrorFacts {
  name: string;
  /** The service's error code (`NoSuchBucket`, `AWS.SimpleQueueService.NonExistentQueue`, …), else the error's name. */
  code: string;
  status?: number;
  message: string;
  /** `Code HTTP status: message`, leaving out the SDK's placeholders. */
  detail: string;
  /** A network failure (connection refused, reset, …). */
  network: boolean;
  /** No answer in time: our per-attempt signal fired, or the SDK's own timeout (not a network failure it labels so). */
  timedOut: boolean;
  /** The SDK found no credentials. */
  noCredentials: boolean;
  /** The SDK found no region. */
  noRegion: boolean;
}

export function awsErrorFacts(err: unknown, signal?: AbortSignal): AwsErrorFacts {
  const e = (err ?? {}) as AwsErrorLike;
  const name = e.name ?? '';
  const code = e.Code ?? e.code ?? name;
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? '';

  const labels: string[] = [];
  const ownCode = e.Code ?? e.code;
  if (ownCode) labels.push(ownCode);
  else if (e.name && !['Error', 'Unknown', 'TimeoutError'].includes(e.name)) labels.push(e.name);
  if (status) labels.push(`HTTP ${status}`);
  const shown = message && message !== 'UnknownError' && message !== ownCode ? message : '';
  const detail = [labels.join(' '), shown].filter(Boolean).join(': ') || String(err);

  const network = NETWORK_ERROR.test(`${e.code ?? ''} ${message}`);
  const timedOut =
    (signal?.aborted === true && (signal.reason as Error | undefined)?.name === 'TimeoutError') ||
    code === 'ETIMEDOUT' ||
    (name === 'TimeoutError' && !network);
  return {
    name,
    code,
    status,
    message,
    detail,
    network,
    timedOut,
    noCredentials: /credential/i.test(name) || /could not load credentials/i.test(message),
    noRegion: /region is missing/i.test(message),
  };
}

/** The fix for rejected or missing credentials, naming the backend's key variables (`CRASHMOVER_CRASHSTORAGE`, `CRASHMOVER_CRASHPUBLISH`). */
export const credentialsFix = {
  rejected: (prefix: string) =>
    `check ${prefix}_ACCESS_KEY and ${prefix}_SECRET_ACCESS_KEY ` +
    `(or, when unset, the SDK's default credential chain: AWS_* variables, profile, instance role)`,
  missing: (prefix: string) =>
    `set ${prefix}_ACCESS_KEY and ${prefix}_SECRET_ACCESS_KEY, ` +
    `or provide credentials through the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)`,
};

/** Service codes for credentials that were sent and rejected (S3's spellings; SQS's are matched in sqs.ts). */
export const AWS_BAD_CREDENTIALS: ReadonlySet<string> = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);

/** Service codes for "slow down": a later try succeeds (some come with 400, not 429 or 503). */
export const AWS_THROTTLED: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** Service codes for a body that arrived damaged or cut short (400s that the next try fixes). */
const AWS_DAMAGED_BODY: ReadonlySet<string> = new Set(['BadDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody']);

/**
 * The kind of an SDK error that no specific rule of s3.ts or sqs.ts
 * recognised: another 4xx is a request the service will refuse again while the
 * settings stay as they are; anything else (no status, an SDK-internal error)
 * is worth another try.
 */
export function otherAwsFailure(code: string, status: number | undefined): { kind: FailureKind; reason: FailureReason } {
  if (AWS_DAMAGED_BODY.has(code)) return { kind: 'transient', reason: 'checksum_mismatch' };
  if (status !== undefined && status >= 400 && status < 500) return { kind: 'configuration', reason: 'rejected' };
  return { kind: 'transient', reason: 'unknown' };
}
