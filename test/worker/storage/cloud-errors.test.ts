/**
 * What an operator reads when GCS or S3 refuses a save or a health check: the
 * whole message (cause, endpoint, bucket, and the setting or grant that fixes
 * it) and the kind the crashmover and start-up act on, for each rule of
 * describeGcsError and describeS3Error.
 */
import { failureKind, failureReason, type KindedError } from '../../../src/shared/failure';
import { describeGcsError, isMissingBucket, type GcsErrorContext } from '../../../src/worker/storage/gcs';
import { describeS3Error, s3ClientConfig, type S3ErrorContext } from '../../../src/worker/storage/s3';

const said = (e: KindedError) => ({ kind: failureKind(e), reason: failureReason(e), message: e.message });

describe('describeGcsError', () => {
  const upload: GcsErrorContext = { action: 'upload', bucket: 'crashes', endpoint: 'https://storage.googleapis.com', timeoutSeconds: 5, emulator: false };
  const check: GcsErrorContext = { ...upload, action: 'existence check', timeoutSeconds: 2 };
  const emulator: GcsErrorContext = { ...upload, endpoint: 'http://127.0.0.1:9023', emulator: true };
  const api = (code: number | string, message: string) => Object.assign(new Error(message), { code });

  it('keeps the client error as the cause', () => {
    const err = api(503, 'Service Unavailable');
    expect(describeGcsError(err, upload).cause).toBe(err);
  });

  describe('timeouts', () => {
    it('of an upload: names the endpoint, the bound and CRASHMOVER_CRASHSTORAGE_TIMEOUT', () => {
      const signal = AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      expect(said(describeGcsError(new Error('aborted'), { ...upload, signal }))).toEqual({
        kind: 'transient',
        reason: 'timeout',
        message:
          'no answer from GCS at https://storage.googleapis.com within 5 s (aborted); check that it is reachable, or raise CRASHMOVER_CRASHSTORAGE_TIMEOUT',
      });
    });

    it('of the heartbeat’s existence check: names HEALTH_CHECK_TIMEOUT', () => {
      expect(said(describeGcsError(Object.assign(new Error('network timeout'), { type: 'request-timeout' }), check))).toEqual({
        kind: 'transient',
        reason: 'timeout',
        message:
          'no answer from GCS at https://storage.googleapis.com within 2 s (network timeout); check that it is reachable (the heartbeat waits HEALTH_CHECK_TIMEOUT, or CRASHMOVER_CRASHSTORAGE_TIMEOUT if smaller)',
      });
    });

    it('ETIMEDOUT and 408 are timeouts; an abort for another reason is not', () => {
      expect(failureReason(describeGcsError(api('ETIMEDOUT', 'connect ETIMEDOUT'), upload))).toBe('timeout');
      expect(failureReason(describeGcsError(api(408, 'Request Timeout'), upload))).toBe('timeout');
      const other = AbortSignal.abort(new Error('closing'));
      expect(failureReason(describeGcsError(new Error('aborted'), { ...upload, signal: other }))).toBe('unknown');
      const notYet = new AbortController().signal;
      expect(failureReason(describeGcsError(new Error('aborted'), { ...upload, signal: notYet }))).toBe('unknown');
    });
  });

  describe('a missing bucket', () => {
    it('is any 404 of an upload', () => {
      expect(said(describeGcsError(api(404, 'Not Found'), upload))).toEqual({
        kind: 'configuration',
        reason: 'bucket_missing',
        message: 'bucket "crashes" does not exist (404: Not Found); create the bucket or fix CRASHMOVER_CRASHSTORAGE_BUCKET_NAME',
      });
    });

    it('is a 404 of the existence check only when GCS says the bucket is missing', () => {
      expect(failureReason(describeGcsError(api(404, 'The specified bucket does not exist.'), check))).toBe('bucket_missing');
      expect(failureReason(describeGcsError(api(404, 'Bucket crashes not found'), check))).toBe('bucket_missing');
      expect(failureReason(describeGcsError(api(404, 'No such object: crashes/test/x'), check))).not.toBe('bucket_missing');
    });

    it('isMissingBucket: a 404 that names the bucket, nothing else', () => {
      expect(isMissingBucket(api(404, 'The specified bucket does not exist.'))).toBe(true);
      expect(isMissingBucket(api(404, 'bucket x does not exist'))).toBe(true);
      expect(isMissingBucket(api(404, 'No such object: x'))).toBe(false);
      expect(isMissingBucket(api(403, 'The specified bucket does not exist.'))).toBe(false);
      expect(isMissingBucket({ code: 404 })).toBe(false);
      expect(isMissingBucket(undefined)).toBe(false);
    });
  });

  describe('credentials and permissions', () => {
    it('no credentials: says how to give some, or to use an emulator', () => {
      expect(said(describeGcsError(new Error('Could not load the default credentials.'), upload))).toEqual({
        kind: 'configuration',
        reason: 'no_credentials',
        message:
          'no Google credentials (Could not load the default credentials.); set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file or run with a service account attached ' +
          '(Application Default Credentials), or set STORAGE_EMULATOR_HOST to use an emulator',
      });
    });

    it('a status is never "no credentials", whatever the text says', () => {
      expect(failureReason(describeGcsError(api(500, 'Could not load the default credentials'), upload))).toBe('unavailable');
    });

    it('rejected credentials: names ADC, and STORAGE_EMULATOR_HOST only for an emulator', () => {
      expect(said(describeGcsError(api(401, 'Invalid Credentials'), upload))).toEqual({
        kind: 'configuration',
        reason: 'bad_credentials',
        message:
          'GCS rejected the credentials (401: Invalid Credentials); check Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS or the attached service account)',
      });
      expect(describeGcsError(api(401, 'Invalid Credentials'), emulator).message).toMatch(/the attached service account\) and STORAGE_EMULATOR_HOST$/);
    });

    it('permission denied: names the role and the two permissions', () => {
      expect(said(describeGcsError(api(403, 'Forbidden'), upload))).toEqual({
        kind: 'configuration',
        reason: 'permission_denied',
        message:
          'permission denied on bucket "crashes" (403: Forbidden); grant the collector\'s service account roles/storage.objectUser on the bucket ' +
          '(storage.objects.create for saves, storage.objects.get for the heartbeat)',
      });
    });
  });

  describe('a service that cannot answer now', () => {
    it('429 is throttled, 5xx unavailable: both transient, with the endpoint', () => {
      expect(said(describeGcsError(api(429, 'Too Many Requests'), upload))).toEqual({
        kind: 'transient',
        reason: 'throttled',
        message:
          'GCS at https://storage.googleapis.com is unavailable (429: Too Many Requests); usually transient (the crashmover retries), check the service if it persists',
      });
      expect(failureReason(describeGcsError(api(500, 'Internal Error'), upload))).toBe('unavailable');
      expect(failureReason(describeGcsError(api(499, 'Client Closed'), upload))).toBe('rejected');
    });

    it('network errors are unreachable, naming STORAGE_EMULATOR_HOST for an emulator', () => {
      expect(said(describeGcsError(api('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9023'), emulator))).toEqual({
        kind: 'transient',
        reason: 'unreachable',
        message: 'cannot reach GCS at http://127.0.0.1:9023 (connect ECONNREFUSED 127.0.0.1:9023); check the network and STORAGE_EMULATOR_HOST',
      });
      expect(describeGcsError(new Error('socket hang up'), upload).message).toBe(
        'cannot reach GCS at https://storage.googleapis.com (socket hang up); check the network',
      );
      for (const msg of ['request to x failed, reason: premature close', 'other side closed', 'getaddrinfo ENOTFOUND storage.example', 'read ECONNRESET']) {
        expect(failureReason(describeGcsError(new Error(msg), upload))).toBe('unreachable');
      }
      // Any other errno-style code too; a word that merely contains one is not.
      expect(failureReason(describeGcsError(api('ENOBUFS', 'no buffer space'), upload))).toBe('unreachable');
      expect(failureReason(describeGcsError(api('XECONNRESET', 'weird'), upload))).toBe('unknown');
      expect(failureReason(describeGcsError(api('ETag-mismatch', 'weird'), upload))).toBe('unknown');
    });

    it('a checksum mismatch is transient', () => {
      expect(said(describeGcsError(new Error('The MD5 checksum mismatch'), upload))).toEqual({
        kind: 'transient',
        reason: 'checksum_mismatch',
        message: 'GCS stored bytes that do not match what was sent (The MD5 checksum mismatch); usually transient (the crashmover retries)',
      });
      expect(failureReason(describeGcsError(new Error('data mismatch'), upload))).toBe('checksum_mismatch');
    });
  });

  describe('anything else', () => {
    it('another 4xx is a configuration error naming the action and the bucket; anything unrecognised is transient', () => {
      expect(said(describeGcsError(api(400, 'Invalid bucket name'), check))).toEqual({
        kind: 'configuration',
        reason: 'rejected',
        message: 'GCS existence check on bucket "crashes" failed (400: Invalid bucket name)',
      });
      expect(said(describeGcsError('a string', upload))).toEqual({
        kind: 'transient',
        reason: 'unknown',
        message: 'GCS upload on bucket "crashes" failed (a string)',
      });
      expect(failureReason(describeGcsError(null, upload))).toBe('unknown');
      expect(failureReason(describeGcsError(api(302, 'Found'), upload))).toBe('unknown');
    });
  });
});

describe('describeS3Error', () => {
  const put: S3ErrorContext = { action: 'PutObject', bucket: 'crashes', endpoint: 'https://s3.us-west-2.amazonaws.com', timeoutSeconds: 5 };
  const head: S3ErrorContext = { ...put, action: 'HeadBucket', timeoutSeconds: 2 };
  const minio: S3ErrorContext = { ...put, endpoint: 'http://127.0.0.1:9000' };
  const sdk = (name: string, status?: number, message = '') =>
    Object.assign(new Error(message), { name, ...(status && { $metadata: { httpStatusCode: status } }) });

  it('keeps the SDK error as the cause', () => {
    const err = sdk('InternalError', 500);
    expect(describeS3Error(err, put).cause).toBe(err);
  });

  it('a missing bucket: NoSuchBucket, or a 404 of HeadBucket (which has no body)', () => {
    expect(said(describeS3Error(sdk('NoSuchBucket', 404, 'The specified bucket does not exist'), put))).toEqual({
      kind: 'configuration',
      reason: 'bucket_missing',
      message:
        'bucket "crashes" does not exist (NoSuchBucket HTTP 404: The specified bucket does not exist); create the bucket or fix CRASHMOVER_CRASHSTORAGE_BUCKET_NAME',
    });
    expect(failureReason(describeS3Error(sdk('NotFound', 404), head))).toBe('bucket_missing');
    expect(failureReason(describeS3Error(sdk('NotFound', 404), put))).not.toBe('bucket_missing');
  });

  it('rejected credentials name the key variables', () => {
    expect(said(describeS3Error(sdk('InvalidAccessKeyId', 403), put))).toEqual({
      kind: 'configuration',
      reason: 'bad_credentials',
      message:
        'S3 rejected the credentials (InvalidAccessKeyId HTTP 403); check CRASHMOVER_CRASHSTORAGE_ACCESS_KEY and CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY ' +
        "(or, when unset, the SDK's default credential chain: AWS_* variables, profile, instance role)",
    });
  });

  it('access denied names the IAM grant the action needs', () => {
    expect(said(describeS3Error(sdk('AccessDenied', 403, 'Access Denied'), put))).toEqual({
      kind: 'configuration',
      reason: 'permission_denied',
      message:
        'access denied writing to bucket "crashes" (AccessDenied HTTP 403: Access Denied); grant the collector\'s IAM identity s3:PutObject on arn:aws:s3:::crashes/* ' +
        "(and s3:ListBucket on arn:aws:s3:::crashes for the heartbeat's HeadBucket)",
    });
    expect(said(describeS3Error(sdk('Forbidden', 403), head))).toEqual({
      kind: 'configuration',
      reason: 'permission_denied',
      message:
        'access denied on HeadBucket "crashes" (Forbidden HTTP 403); grant the collector\'s IAM identity s3:ListBucket on arn:aws:s3:::crashes ' +
        '(in addition to s3:PutObject on arn:aws:s3:::crashes/*)',
    });
    expect(failureReason(describeS3Error(sdk('AccessDenied'), put))).toBe('permission_denied');
    expect(failureReason(describeS3Error(sdk('AllAccessDisabled'), put))).toBe('permission_denied');
    expect(failureReason(describeS3Error(sdk('Forbidden'), put))).toBe('permission_denied');
    expect(failureReason(describeS3Error(sdk('Weird', 403), put))).toBe('permission_denied');
  });

  it('missing credentials and a missing region say which variables to set', () => {
    expect(said(describeS3Error(sdk('CredentialsProviderError', undefined, 'Could not load credentials from any providers'), put))).toEqual({
      kind: 'configuration',
      reason: 'no_credentials',
      message:
        'no AWS credentials (Could not load credentials from any providers); set CRASHMOVER_CRASHSTORAGE_ACCESS_KEY and CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY, ' +
        "or provide credentials through the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role)",
    });
    expect(describeS3Error(sdk('CredentialsProviderError'), put).message).toMatch(/^no AWS credentials \(CredentialsProviderError\); /);
    expect(said(describeS3Error(sdk('Error', undefined, 'Region is missing'), put))).toEqual({
      kind: 'configuration',
      reason: 'no_region',
      message: "no AWS region (Region is missing); set CRASHMOVER_CRASHSTORAGE_REGION (or AWS_REGION) to the bucket's region",
    });
  });

  it('a bucket in another region: PermanentRedirect, a malformed authorization header, or a 301', () => {
    expect(said(describeS3Error(sdk('PermanentRedirect', 301), put))).toEqual({
      kind: 'configuration',
      reason: 'wrong_region',
      message: 'bucket "crashes" is in another region (PermanentRedirect HTTP 301); set CRASHMOVER_CRASHSTORAGE_REGION to the bucket\'s region',
    });
    expect(failureReason(describeS3Error(sdk('PermanentRedirect'), put))).toBe('wrong_region');
    expect(failureReason(describeS3Error(sdk('AuthorizationHeaderMalformed', 400), put))).toBe('wrong_region');
    expect(failureReason(describeS3Error(sdk('Unknown', 301), head))).toBe('wrong_region');
  });

  it('timeouts: our own deadline, or S3’s RequestTimeout', () => {
    const signal = AbortSignal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    expect(said(describeS3Error(sdk('AbortError', undefined, 'Request aborted'), { ...put, signal }))).toEqual({
      kind: 'transient',
      reason: 'timeout',
      message:
        'no answer from S3 at https://s3.us-west-2.amazonaws.com within 5 s (AbortError: Request aborted); check that it is reachable, or raise CRASHMOVER_CRASHSTORAGE_TIMEOUT',
    });
    expect(failureReason(describeS3Error(sdk('RequestTimeout', 400), put))).toBe('timeout');
  });

  it('5xx is unavailable, throttling is throttled: both transient, naming the endpoint', () => {
    expect(said(describeS3Error(sdk('ServiceUnavailable', 503), put))).toEqual({
      kind: 'transient',
      reason: 'unavailable',
      message:
        'S3 at https://s3.us-west-2.amazonaws.com is unavailable (ServiceUnavailable HTTP 503); usually transient (the crashmover retries), check the service if it persists',
    });
    expect(failureReason(describeS3Error(sdk('SlowDown', 503), put))).toBe('unavailable');
    expect(failureReason(describeS3Error(sdk('SlowDown'), put))).toBe('throttled');
    expect(failureReason(describeS3Error(sdk('TooManyRequests', 429), put))).toBe('throttled');
    expect(failureReason(describeS3Error(sdk('Whatever', 429), put))).toBe('throttled');
    expect(failureReason(describeS3Error(sdk('Whatever', 499), put))).toBe('rejected');
  });

  it('network errors are unreachable, naming the endpoint setting for a store other than AWS', () => {
    expect(said(describeS3Error(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }), minio))).toEqual({
      kind: 'transient',
      reason: 'unreachable',
      message:
        'cannot reach S3 at http://127.0.0.1:9000 (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9000); check the network and CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL',
    });
    expect(describeS3Error(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), put).message).toMatch(/; check the network$/);
    expect(failureReason(describeS3Error(Object.assign(new Error('x'), { code: 'ENOBUFS' }), put))).toBe('unreachable');
    expect(failureReason(describeS3Error(Object.assign(new Error('x'), { code: 'XENOBUFS' }), put))).toBe('unknown');
    // A service code that merely starts with capitals is not an errno.
    expect(failureReason(describeS3Error(sdk('ETagMismatch', 400), put))).toBe('rejected');
  });

  it('an abort that is not our deadline, and anything else', () => {
    expect(said(describeS3Error(sdk('AbortError', undefined, 'Request aborted'), put))).toEqual({
      kind: 'transient',
      reason: 'aborted',
      message: 'S3 request to https://s3.us-west-2.amazonaws.com was aborted (AbortError: Request aborted)',
    });
    expect(said(describeS3Error(sdk('InvalidBucketName', 400, 'The specified bucket is not valid.'), head))).toEqual({
      kind: 'configuration',
      reason: 'rejected',
      message: 'S3 HeadBucket on bucket "crashes" failed (InvalidBucketName HTTP 400: The specified bucket is not valid.)',
    });
  });
});

describe('s3ClientConfig', () => {
  const base = { region: 'us-west-2', endpointUrl: 'http://127.0.0.1:9000', accessKey: 'a', secretAccessKey: 'b' };
  it('addresses the bucket by path only when asked (S3-compatible stores)', () => {
    expect(s3ClientConfig({ ...base, forcePathStyle: true }, 1000).forcePathStyle).toBe(true);
    expect(s3ClientConfig({ ...base, forcePathStyle: false }, 1000).forcePathStyle).toBeUndefined();
  });
});
