import { Storage, type File, type StorageOptions } from '@google-cloud/storage';
import type { GcsSettings } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import { KindedError, type FailureKind, type FailureReason } from '../../shared/failure';
import { toBuffer, type CrashReport } from '../../shared/crash-report';
import type { CrashStorage } from './crash-storage';
import { saveCrashObjects, testFileKey, type StoredObject } from './crash-objects';

/** Project id given to the client for an emulator, so that it never asks ADC or the metadata server for one. */
const EMULATOR_PROJECT_ID = 'antenna-emulator';

/** Emulators speak plain HTTP; `host:port` alone would otherwise be taken as https. */
function emulatorEndpoint(host: string): string {
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

/**
 * Client options: one request per attempt (the crashmover retries, not the
 * client: `autoRetry: false`, as `maxRetries: 0` is ignored), and either the
 * emulator with no credentials at all or Application Default Credentials.
 *
 * `timeout` is passed along, but the client's HTTP layer (teeny-request over
 * node-fetch 3) does not enforce it, so createGcsStorage bounds every call
 * with its own deadline.
 */
export function gcsClientOptions(settings: Pick<GcsSettings, 'storageEmulatorHost'>, timeoutMs: number): StorageOptions {
  const options: StorageOptions = { retryOptions: { autoRetry: false, maxRetries: 0 }, timeout: timeoutMs };
  const emulator = settings.storageEmulatorHost;
  if (emulator) {
    // A custom endpoint without useAuthWithCustomEndpoint sends requests
    // unauthenticated; with a project id the client never looks for ADC or
    // probes the GCE metadata server either.
    return { ...options, apiEndpoint: emulatorEndpoint(emulator), projectId: EMULATOR_PROJECT_ID, useAuthWithCustomEndpoint: false };
  }
  // Object reads and writes are addressed by bucket and need no project id;
  // ADC supplies the credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, or
  // the attached service account through the metadata server).
  return options;
}

interface ApiErrorLike {
  code?: number | string;
  message?: string;
  type?: string;
  name?: string;
}

export interface GcsErrorContext {
  action: 'upload' | 'existence check';
  bucket: string;
  endpoint: string;
  timeoutSeconds: number;
  /** Whether the endpoint is an emulator (STORAGE_EMULATOR_HOST). */
  emulator: boolean;
  /** The attempt's deadline, to tell our own timeout from other aborts. */
  signal?: AbortSignal;
}

/** GCS's answer to any object call on a bucket that does not exist (a missing object is `No such object: …`). */
const MISSING_BUCKET = /specified bucket does not exist|bucket .*(not found|does not exist)/i;
const NETWORK_ERROR =
  /\b(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b|socket hang up|premature close|other side closed/i;

export function isMissingBucket(err: unknown): boolean {
  const e = (err ?? {}) as ApiErrorLike;
  return e.code === 404 && MISSING_BUCKET.test(e.message ?? '');
}

/**
 * Turns a client error into one that names the cause and the fix, with the
 * kind start-up and the crashmover act on: `configuration` when settings are
 * wrong (bucket missing, no or rejected credentials, permission denied, any
 * other 4xx), `transient` when another try can succeed (429, 408, 5xx,
 * timeouts, network errors, a checksum mismatch, anything unrecognised).
 */
export function describeGcsError(err: unknown, ctx: GcsErrorContext): KindedError {
  const e = (err ?? {}) as ApiErrorLike;
  const detail = e.message ?? String(err);
  const b = ctx.bucket;
  const status = typeof e.code === 'number' ? e.code : undefined;
  const codeText = typeof e.code === 'string' ? e.code : '';
  const timedOut =
    (ctx.signal?.aborted === true && (ctx.signal.reason as Error | undefined)?.name === 'TimeoutError') ||
    e.type === 'request-timeout' ||
    codeText === 'ETIMEDOUT' ||
    status === 408;
  const withStatus = status !== undefined ? `${status}: ${detail}` : detail;
  const kinded = (kind: FailureKind, reason: FailureReason, msg: string) => new KindedError(kind, reason, msg, { cause: err });
  if (timedOut) {
    return kinded(
      'transient',
      'timeout',
      `no answer from GCS at ${ctx.endpoint} within ${ctx.timeoutSeconds} s (${detail}); ` +
        (ctx.action === 'upload'
          ? 'check that it is reachable, or raise CRASHMOVER_CRASHSTORAGE_TIMEOUT'
          : 'check that it is reachable (the heartbeat waits HEALTH_CHECK_TIMEOUT, or CRASHMOVER_CRASHSTORAGE_TIMEOUT if smaller)'),
    );
  }
  if (status === 404 && (ctx.action === 'upload' || MISSING_BUCKET.test(detail))) {
    return kinded(
      'configuration',
      'bucket_missing',
      `bucket "${b}" does not exist (${withStatus}); create the bucket or fix CRASHMOVER_CRASHSTORAGE_BUCKET_NAME`,
    );
  }
  // google-auth-library says so in prose only: there is no code to match.
  if (status === undefined && /could not load the default credentials/i.test(detail)) {
    return kinded(
      'configuration',
      'no_credentials',
      `no Google credentials (${detail}); set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file or run with a service account attached ` +
        `(Application Default Credentials), or set STORAGE_EMULATOR_HOST to use an emulator`,
    );
  }
  if (status === 401) {
    return kinded(
      'configuration',
      'bad_credentials',
      `GCS rejected the credentials (${withStatus}); check Application Default Credentials ` +
        `(GOOGLE_APPLICATION_CREDENTIALS or the attached service account)${ctx.emulator ? ' and STORAGE_EMULATOR_HOST' : ''}`,
    );
  }
  if (status === 403) {
    return kinded(
      'configuration',
      'permission_denied',
      `permission denied on bucket "${b}" (${withStatus}); grant the collector's service account roles/storage.objectUser on the bucket ` +
        `(storage.objects.create for saves, storage.objects.get for the heartbeat)`,
    );
  }
  if (status === 429 || (status !== undefined && status >= 500)) {
    return kinded(
      'transient',
      status === 429 ? 'throttled' : 'unavailable',
      `GCS at ${ctx.endpoint} is unavailable (${withStatus}); usually transient (the crashmover retries), check the service if it persists`,
    );
  }
  if (NETWORK_ERROR.test(`${codeText} ${detail}`) || /^E[A-Z_]+$/.test(codeText)) {
    return kinded(
      'transient',
      'unreachable',
      `cannot reach GCS at ${ctx.endpoint} (${detail}); check the network${ctx.emulator ? ' and STORAGE_EMULATOR_HOST' : ''}`,
    );
  }
  if (codeText === 'FILE_NO_UPLOAD' || /checksum|mismatch/i.test(detail)) {
    return kinded('transient', 'checksum_mismatch', `GCS stored bytes that do not match what was sent (${detail}); usually transient (the crashmover retries)`);
  }
  // Any other 4xx is a request GCS will refuse again as long as the settings stay as they are (e.g. an invalid bucket name).
  const refused = status !== undefined && status >= 400 && status < 500;
  return kinded(refused ? 'configuration' : 'transient', refused ? 'rejected' : 'unknown', `GCS ${ctx.action} on bucket "${b}" failed (${withStatus})`);
}

/**
 * One single-request (multipart) upload — what `file.save(data, {resumable:
 * false})` does, minus its retry wrapper — abandoned when `signal` fires: the
 * write stream is destroyed, which aborts the request while its body is still
 * being sent. (A request whose body is out stays open until GCS answers or the
 * connection dies; the attempt has failed by then all the same.)
 */
function upload(file: File, data: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const stream = file.createWriteStream({ resumable: false, contentType: 'application/octet-stream' });
    let settled = false;
    const onAbort = () => stream.destroy(signal.reason as Error);
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('error', (err: Error) => settle(signal.aborted ? (signal.reason as Error) : err));
    stream.once('finish', () => settle());
    stream.end(data);
  });
}

/** `promise`, or a rejection with the signal's reason once it fires (the request itself cannot be aborted). */
function until<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Crashes in a Google Cloud Storage bucket, one single-request upload per
 * object, in the bucket layout of crash-objects.ts: dumps and dump_names
 * first, the raw crash last. One save attempt is bounded by
 * CRASHMOVER_CRASHSTORAGE_TIMEOUT (every object of the crash shares it); the
 * heartbeat's existence check by the smaller of that and 5 s.
 */
export function createGcsStorage(settings: GcsSettings, logger: Logger): CrashStorage {
  const { bucketName, timeoutSeconds, timeoutMs, healthTimeoutMs, storageEmulatorHost, dumpField } = settings;

  if (storageEmulatorHost) {
    logger.debug(`STORAGE_EMULATOR_HOST detected, connecting to emulator: ${storageEmulatorHost}`);
  }
  const bucket = new Storage(gcsClientOptions(settings, timeoutMs)).bucket(bucketName);
  const endpoint = bucket.storage.apiEndpoint;
  const ctx = { bucket: bucketName, endpoint, emulator: Boolean(storageEmulatorHost) };
  logger.debug(`gcs storage: saving crashes to bucket ${bucketName} at ${endpoint}`);

  function putter(signal: AbortSignal) {
    return async ({ key, data }: StoredObject): Promise<void> => {
      try {
        await upload(bucket.file(key), toBuffer(data), signal);
      } catch (err) {
        const e = describeGcsError(err, { ...ctx, action: 'upload', timeoutSeconds, signal });
        e.message = `saving ${key}: ${e.message}`;
        throw e;
      }
    };
  }

  return {
    name: 'GcsCrashStorage',
    // One deadline per attempt: every object of this crash shares the bound.
    save: (crash: CrashReport) => saveCrashObjects(crash, dumpField, putter(AbortSignal.timeout(timeoutMs))),
    verify: () => putter(AbortSignal.timeout(timeoutMs))({ key: testFileKey(), data: Buffer.from('test') }),
    async checkHealth() {
      // A metadata GET on a random key needs only storage.objects.get, which
      // roles/storage.objectUser grants; "no such object" is the healthy
      // answer, "no such bucket" is not.
      const signal = AbortSignal.timeout(healthTimeoutMs);
      try {
        await until(bucket.file(testFileKey()).getMetadata(), signal);
      } catch (err) {
        const e = (err ?? {}) as ApiErrorLike;
        if (e.code === 404 && !isMissingBucket(err)) return;
        throw describeGcsError(err, { ...ctx, action: 'existence check', timeoutSeconds: healthTimeoutMs / 1000, signal });
      }
    },
    async close() {},
  };
}
