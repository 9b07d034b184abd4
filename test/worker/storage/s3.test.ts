/**
 * The S3 storage backend, driving the real @aws-sdk/client-s3 (default
 * checksums, path-style addressing) against fauxqs behind a fault-injecting
 * proxy (test/support/fake-aws).
 */
import { loadConfig, s3Settings } from '../../../src/shared/config';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createS3Storage, describeS3Error, s3ClientConfig } from '../../../src/worker/storage/s3';
import { CRASH_ID, freshFakeEachTest, kindOf, rejection, silentLogger, testCrash } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { FAKE_ACCESS_KEY, startFakeAws, type FakeAws } from '../../support/fake-aws';

// Never the machine's AWS configuration: no metadata server, no profile files.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const BUCKET = 'antenna-crashes';
const RAW_KEY = `v1/raw_crash/20160918/${CRASH_ID}`;
const NAMES_KEY = `v1/dump_names/${CRASH_ID}`;
const DUMP_KEY = `v1/dump/${CRASH_ID}`;

const logger = silentLogger;

let fake: FakeAws;
/** Closes things after each test, before the fake stops. */
const closeAfterTest = freshFakeEachTest(startFakeAws, (f) => (fake = f));

function storage(extra: Record<string, string> = {}, bucket = BUCKET): CrashStorage {
  const s = createS3Storage(s3Settings(loadConfig(fake.storageEnv(bucket, extra))), logger);
  closeAfterTest(() => s.close());
  return s;
}

describe('S3CrashStorage', () => {
  test('is named S3CrashStorage', async () => {
    expect(storage().name).toBe('S3CrashStorage');
  });

  test('save() writes the dumps, dump_names and the raw crash under the bucket layout, byte for byte', async () => {
    await fake.createBucket(BUCKET);
    const minidump = fakeDump(10_000, 7);
    const browser = fakeDump(3_000, 9);
    const c = testCrash({ upload_file_minidump: minidump, upload_file_minidump_browser: browser });
    await storage().save(c);

    expect(await fake.keys(BUCKET)).toEqual([DUMP_KEY, `v1/upload_file_minidump_browser/${CRASH_ID}`, NAMES_KEY, RAW_KEY].sort());
    expect((await fake.getObject(BUCKET, DUMP_KEY))!.equals(minidump)).toBe(true);
    expect((await fake.getObject(BUCKET, `v1/upload_file_minidump_browser/${CRASH_ID}`))!.equals(browser)).toBe(true);
    expect((await fake.getObject(BUCKET, NAMES_KEY))!.toString()).toBe('["upload_file_minidump","upload_file_minidump_browser"]');
    // Keys sorted at every level, as Antenna writes it.
    expect((await fake.getObject(BUCKET, RAW_KEY))!.toString()).toBe(
      `{"ProductName":"Firefox","Version":"140.0","metadata":{"collector_notes":[],"dump_checksums":{}},"uuid":"${CRASH_ID}"}`,
    );

    // One PutObject per object, path-style, the raw crash strictly last.
    const puts = fake.requests.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(4);
    expect(puts.every((r) => r.bucket === BUCKET && r.status === 200)).toBe(true);
    expect(puts[puts.length - 1]!.key).toBe(RAW_KEY);
    // The SDK's default flexible checksums (CRC32) were sent, and accepted.
    expect(puts.every((r) => r.checksums && Object.keys(r.checksums).length === 1)).toBe(true);
  });

  test('a multi-MiB dump round-trips byte-exactly', async () => {
    await fake.createBucket(BUCKET);
    const big = fakeDump(6 * 1024 * 1024 + 123, 42);
    await storage().save(testCrash({ upload_file_minidump: big }));
    const stored = await fake.getObject(BUCKET, DUMP_KEY);
    expect(stored!.length).toBe(big.length);
    expect(stored!.equals(big)).toBe(true);
    const [put] = fake.requestsFor(BUCKET, DUMP_KEY);
    expect(fake.requestsFor(BUCKET, DUMP_KEY)).toHaveLength(1);
    expect(put!.checksums).toBeDefined();
  });

  test('verify() writes test/testfile-<uuid>.txt', async () => {
    await fake.createBucket(BUCKET);
    await storage().verify();
    const keys = await fake.keys(BUCKET, 'test/');
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^test\/testfile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt$/);
    expect((await fake.getObject(BUCKET, keys[0]!))!.toString()).toBe('test');
  });

  test('verify() on a missing bucket fails naming the bucket and CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', async () => {
    const { err } = await rejection(storage({}, 'no-such-bucket').verify());
    expect(err.message).toContain('"no-such-bucket" does not exist');
    expect(err.message).toContain('NoSuchBucket');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'bucket_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('checkHealth() passes on an existing bucket (HeadBucket)', async () => {
    await fake.createBucket(BUCKET);
    await storage().checkHealth();
    expect(fake.requests).toEqual([expect.objectContaining({ method: 'HEAD', bucket: BUCKET, status: 200 })]);
  });

  test('checkHealth() fails on a missing bucket, naming the fix', async () => {
    const { err } = await rejection(storage({}, 'no-such-bucket').checkHealth());
    expect(err.message).toMatch(/bucket "no-such-bucket" does not exist .*404/);
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'bucket_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('checkHealth() fails on a 503', async () => {
    await fake.createBucket(BUCKET);
    fake.failNext(1, { status: 503 });
    const { err } = await rejection(storage().checkHealth());
    expect(err.message).toContain('unavailable');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    expect(err.message).toContain('503');
    expect(fake.requests).toHaveLength(1);
    // and recovers once the fault is gone
    await storage().checkHealth();
  });

  test('AccessDenied names the S3 permissions to grant', async () => {
    await fake.createBucket(BUCKET);
    fake.failNext(1, { status: 403 });
    const { err: putErr } = await rejection(storage().verify());
    expect(putErr.message).toContain('AccessDenied');
    expect(kindOf(putErr)).toEqual({ kind: 'configuration', reason: 'permission_denied' });
    expect(putErr.message).toContain(`s3:PutObject on arn:aws:s3:::${BUCKET}/*`);
    fake.failNext(1, { status: 403 });
    const { err: headErr } = await rejection(storage().checkHealth());
    expect(headErr.message).toContain(`s3:ListBucket on arn:aws:s3:::${BUCKET}`);
    expect(kindOf(headErr)).toEqual({ kind: 'configuration', reason: 'permission_denied' });
  });

  test('a 503 on a dump fails save() after exactly one request for it (SDK retries off), and the raw crash is not written', async () => {
    await fake.createBucket(BUCKET);
    fake.failNext(1, { status: 503, match: (r) => r.key === DUMP_KEY });
    const { err } = await rejection(storage().save(testCrash()));
    expect(err.message).toContain(`saving ${DUMP_KEY}`);
    expect(err.message).toMatch(/SlowDown HTTP 503/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    expect(fake.requestsFor(BUCKET, DUMP_KEY)).toEqual([expect.objectContaining({ method: 'PUT', status: 503, injected: true })]);
    expect(fake.requestsFor(BUCKET, RAW_KEY)).toHaveLength(0);
    expect(await fake.getObject(BUCKET, RAW_KEY)).toBeUndefined();
  });

  test('a 503 on the raw crash fails save() after one request for it', async () => {
    await fake.createBucket(BUCKET);
    fake.failNext(1, { status: 503, match: (r) => r.key === RAW_KEY });
    await rejection(storage().save(testCrash()));
    expect(fake.requestsFor(BUCKET, RAW_KEY)).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);
    // A retry by the crashmover then completes the crash.
    await storage().save(testCrash());
    expect(await fake.getObject(BUCKET, RAW_KEY)).toBeDefined();
  });

  test('latency beyond CRASHMOVER_CRASHSTORAGE_TIMEOUT rejects in bounded time', async () => {
    await fake.createBucket(BUCKET);
    fake.setLatency(20_000);
    const { err, ms } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '1' }).save(testCrash()));
    expect(err.message).toContain('within 1 s');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_TIMEOUT');
    expect(ms).toBeLessThan(15_000);
    expect(fake.requestsFor(BUCKET, RAW_KEY)).toHaveLength(0);
  });

  test('checkHealth() beyond its bound names the bound in seconds', async () => {
    await fake.createBucket(BUCKET);
    fake.setLatency(20_000);
    const { err } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '1' }).checkHealth());
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    expect(err.message).toMatch(/ within 1 s /);
  });

  test('a dropped connection rejects save() without hanging', async () => {
    await fake.createBucket(BUCKET);
    fake.dropNextConnections(1);
    const { err, ms } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '30' }).save(testCrash()));
    expect(err.message).toMatch(/cannot reach S3 at http:\/\/127\.0\.0\.1:\d+/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unreachable' });
    expect(ms).toBeLessThan(15_000);
    expect(fake.requests.filter((r) => r.status === 'dropped')).toHaveLength(1);
    expect(fake.requestsFor(BUCKET, RAW_KEY)).toHaveLength(0);
  });

  test('close() is safe after use', async () => {
    await fake.createBucket(BUCKET);
    const s = storage();
    await s.verify();
    await s.close();
  });
});

describe('S3 client configuration', () => {
  const base = { CRASHMOVER_CRASHSTORAGE_CLASS: 's3', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET };

  test('one attempt, bounded time, explicit credentials only when both keys are set, endpoint and path style when configured', () => {
    const custom = s3ClientConfig(
      s3Settings(
        loadConfig({
          ...base,
          CRASHMOVER_CRASHSTORAGE_ACCESS_KEY: FAKE_ACCESS_KEY,
          CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY: 's',
          CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL: 'http://minio.internal:9000',
          CRASHMOVER_CRASHSTORAGE_FORCE_PATH_STYLE: 'true',
          CRASHMOVER_CRASHSTORAGE_REGION: 'eu-west-1',
        }),
      ),
      7000,
    );
    expect(custom).toEqual(
      expect.objectContaining({
        maxAttempts: 1,
        region: 'eu-west-1',
        endpoint: 'http://minio.internal:9000',
        forcePathStyle: true,
        credentials: { accessKeyId: FAKE_ACCESS_KEY, secretAccessKey: 's' },
      }),
    );
    expect(custom.requestHandler).toEqual(expect.objectContaining({ connectionTimeout: 7000, requestTimeout: 7000 }));

    const aws = s3ClientConfig(s3Settings(loadConfig(base)), 60_000);
    expect(aws.maxAttempts).toBe(1);
    expect(aws.credentials).toBeUndefined(); // the SDK's default chain
    expect(aws.endpoint).toBeUndefined();
    expect(aws.forcePathStyle).toBeUndefined();
    expect(aws.region).toBeUndefined(); // the SDK's own resolution (AWS_REGION, profile)
  });
});

describe('error kinds (what start-up and the crashmover act on)', () => {
  const ctx = { action: 'PutObject' as const, bucket: BUCKET, endpoint: 'https://s3.us-west-2.amazonaws.com', timeoutSeconds: 5 };
  const sdkError = (name: string, status?: number, message = '') =>
    Object.assign(new Error(message), { name, ...(status && { $metadata: { httpStatusCode: status } }) });
  test.each([
    [sdkError('InvalidAccessKeyId', 403), 'configuration', 'bad_credentials'],
    [sdkError('SignatureDoesNotMatch', 403), 'configuration', 'bad_credentials'],
    [sdkError('CredentialsProviderError', undefined, 'Could not load credentials from any providers'), 'configuration', 'no_credentials'],
    [sdkError('Error', undefined, 'Region is missing'), 'configuration', 'no_region'],
    [sdkError('PermanentRedirect', 301), 'configuration', 'wrong_region'],
    [sdkError('InvalidBucketName', 400), 'configuration', 'rejected'],
    [sdkError('BadDigest', 400), 'transient', 'checksum_mismatch'],
    [sdkError('InternalError', 500), 'transient', 'unavailable'],
    [sdkError('TimeoutError', undefined, 'socket hang up'), 'transient', 'unreachable'],
    [sdkError('AbortError', undefined, 'Request aborted'), 'transient', 'aborted'],
  ])('%o is %s (%s)', (err, kind, reason) => {
    expect(kindOf(describeS3Error(err, ctx))).toEqual({ kind, reason });
  });
});
