import { HeadBucketCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Settings } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import { toBuffer, type CrashReport } from '../../shared/crash-report';
import type { CrashStorage } from './crash-storage';
import { saveCrashObjects, testFileKey, type StoredObject } from './crash-objects';
import { KindedError, type FailureKind, type FailureReason } from '../../shared/failure';
import { AWS_BAD_CREDENTIALS, AWS_THROTTLED, awsClientOptions, awsErrorFacts, credentialsFix, otherAwsFailure } from '../aws-client';

/** Client options: see awsClientOptions; plus path-style addressing for S3-compatible stores. */
export function s3ClientConfig(
  settings: Pick<S3Settings, 'region' | 'endpointUrl' | 'accessKey' | 'secretAccessKey' | 'forcePathStyle'>,
  timeoutMs: number,
): S3ClientConfig {
  const options: S3ClientConfig = awsClientOptions(settings, timeoutMs);
  if (settings.forcePathStyle) options.forcePathStyle = true;
  return options;
}

export interface S3ErrorContext {
  action: 'PutObject' | 'HeadBucket';
  bucket: string;
  endpoint: string;
  timeoutSeconds: number;
  /** The per-attempt signal, to tell our own timeout from other aborts. */
  signal?: AbortSignal;
}

/**
 * Turns an SDK error into one that names the cause and the fix, with the kind
 * start-up and the crashmover act on (see awsFailure): `configuration` for a
 * missing bucket, denied access, missing or rejected credentials, a missing or
 * wrong region; `transient` for timeouts, throttling, 5xx and network errors.
 */
export function describeS3Error(err: unknown, ctx: S3ErrorContext): KindedError {
  const facts = awsErrorFacts(err, ctx.signal);
  const { name, code, status, message, detail, network, noCredentials, noRegion } = facts;
  const timedOut = facts.timedOut || code === 'RequestTimeout';
  const b = ctx.bucket;
  const kinded = (kind: FailureKind, reason: FailureReason, msg: string) => new KindedError(kind, reason, msg, { cause: err });
  if (code === 'NoSuchBucket' || (ctx.action === 'HeadBucket' && status === 404)) {
    return kinded('configuration', 'bucket_missing', `bucket "${b}" does not exist (${detail}); create the bucket or fix CRASHMOVER_CRASHSTORAGE_BUCKET_NAME`);
  }
  if (AWS_BAD_CREDENTIALS.has(code)) {
    return kinded('configuration', 'bad_credentials', `S3 rejected the credentials (${detail}); ${credentialsFix.rejected('CRASHMOVER_CRASHSTORAGE')}`);
  }
  if (code === 'AccessDenied' || code === 'Forbidden' || code === 'AllAccessDisabled' || status === 403) {
    return kinded(
      'configuration',
      'permission_denied',
      ctx.action === 'PutObject'
        ? `access denied writing to bucket "${b}" (${detail}); grant the collector's IAM identity s3:PutObject on arn:aws:s3:::${b}/* ` +
            `(and s3:ListBucket on arn:aws:s3:::${b} for the heartbeat's HeadBucket)`
        : `access denied on HeadBucket "${b}" (${detail}); grant the collector's IAM identity s3:ListBucket on arn:aws:s3:::${b} ` +
            `(in addition to s3:PutObject on arn:aws:s3:::${b}/*)`,
    );
  }
  if (noCredentials) {
    return kinded('configuration', 'no_credentials', `no AWS credentials (${message || name}); ${credentialsFix.missing('CRASHMOVER_CRASHSTORAGE')}`);
  }
  if (noRegion) {
    return kinded('configuration', 'no_region', `no AWS region (${message}); set CRASHMOVER_CRASHSTORAGE_REGION (or AWS_REGION) to the bucket's region`);
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || status === 301) {
    return kinded('configuration', 'wrong_region', `bucket "${b}" is in another region (${detail}); set CRASHMOVER_CRASHSTORAGE_REGION to the bucket's region`);
  }
  if (timedOut) {
    return kinded(
      'transient',
      'timeout',
      `no answer from S3 at ${ctx.endpoint} within ${ctx.timeoutSeconds} s (${detail}); check that it is reachable, or raise CRASHMOVER_CRASHSTORAGE_TIMEOUT`,
    );
  }
  if ((status !== undefined && status >= 500) || AWS_THROTTLED.has(code) || status === 429) {
    return kinded(
      'transient',
      status !== undefined && status >= 500 ? 'unavailable' : 'throttled',
      `S3 at ${ctx.endpoint} is unavailable (${detail}); usually transient (the crashmover retries), check the service if it persists`,
    );
  }
  if (network || /^E[A-Z_]+$/.test(code)) {
    return kinded(
      'transient',
      'unreachable',
      `cannot reach S3 at ${ctx.endpoint} (${detail}); check the network${ctx.endpoint.includes('.amazonaws.com') ? '' : ' and CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL'}`,
    );
  }
  if (name === 'AbortError') return kinded('transient', 'aborted', `S3 request to ${ctx.endpoint} was aborted (${detail})`);
  const { kind, reason } = otherAwsFailure(code, status);
  return kinded(kind, reason, `S3 ${ctx.action} on bucket "${b}" failed (${detail})`);
}

/**
 * Crashes in an S3 (or S3-compatible) bucket, one PutObject per object, in
 * the bucket layout of crash-objects.ts: dumps and dump_names first, the raw
 * crash last. One save attempt is bounded by CRASHMOVER_CRASHSTORAGE_TIMEOUT.
 */
export function createS3Storage(settings: S3Settings, logger: Logger): CrashStorage {
  const { bucketName, timeoutSeconds, timeoutMs, healthTimeoutMs, endpointUrl, region, dumpField } = settings;
  const endpoint = endpointUrl ?? `https://s3.${region ?? '<SDK region>'}.amazonaws.com`;

  // The heartbeat gets a client of its own with the shorter bound, so a slow
  // upload never holds up (or loosens) the health probe.
  const client = new S3Client(s3ClientConfig(settings, timeoutMs));
  const health = new S3Client(s3ClientConfig(settings, healthTimeoutMs));
  if (endpointUrl) logger.debug(`s3 storage: using endpoint ${endpointUrl}${settings.forcePathStyle ? ' (path-style)' : ''}`);
  logger.debug(`s3 storage: saving crashes to bucket ${bucketName}`);

  function putter(signal: AbortSignal) {
    return async ({ key, data: bytes }: StoredObject): Promise<void> => {
      const data = toBuffer(bytes);
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucketName, Key: key, Body: data, ContentLength: data.length, ContentType: 'application/octet-stream' }),
          { abortSignal: signal },
        );
      } catch (err) {
        const e = describeS3Error(err, { action: 'PutObject', bucket: bucketName, endpoint, timeoutSeconds, signal });
        e.message = `saving ${key}: ${e.message}`;
        throw e;
      }
    };
  }

  return {
    name: 'S3CrashStorage',
    // One signal per attempt: every object of this crash shares the bound.
    save: (crash: CrashReport) => saveCrashObjects(crash, dumpField, putter(AbortSignal.timeout(timeoutMs))),
    verify: () => putter(AbortSignal.timeout(timeoutMs))({ key: testFileKey(), data: Buffer.from('test') }),
    async checkHealth() {
      const signal = AbortSignal.timeout(healthTimeoutMs);
      try {
        await health.send(new HeadBucketCommand({ Bucket: bucketName }), { abortSignal: signal });
      } catch (err) {
        throw describeS3Error(err, { action: 'HeadBucket', bucket: bucketName, endpoint, timeoutSeconds: healthTimeoutMs / 1000, signal });
      }
    },
    async close() {
      client.destroy();
      health.destroy();
    },
  };
}
