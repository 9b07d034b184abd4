/**
 * The GCS storage backend, driving the real @google-cloud/storage client over
 * HTTP against the in-process fake GCS JSON API (test/support/fake-gcs).
 */
// The client's HTTP layers import node-fetch (ESM) dynamically, which Jest's vm
// cannot: load them with Node's own loader (see test/support/fake-gcs/index.ts).
jest.mock('teeny-request', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('teeny-request'));
jest.mock('gaxios', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('gaxios'));

import { Storage } from '@google-cloud/storage';
import { loadConfig, gcsSettings } from '../../../src/shared/config';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createGcsStorage, describeGcsError, gcsClientOptions } from '../../../src/worker/storage/gcs';
import { CRASH_ID, kindOf, rejection, silentLogger, testCrash } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { match, startFakeGcs, type FakeGcs } from '../../support/fake-gcs';

// Never the machine's Google configuration: no metadata-server probe.
process.env.METADATA_SERVER_DETECTION = 'none';

const BUCKET = 'antenna-crashes';
const RAW_KEY = `v1/raw_crash/20160918/${CRASH_ID}`;
const NAMES_KEY = `v1/dump_names/${CRASH_ID}`;
const DUMP_KEY = `v1/dump/${CRASH_ID}`;
const MEMORY_KEY = `v1/memory_report/${CRASH_ID}`;

const logger = silentLogger;

let gcs: FakeGcs;
const savedEmulatorHost = process.env.STORAGE_EMULATOR_HOST;

beforeEach(async () => {
  // The client reads STORAGE_EMULATOR_HOST itself; only the config may point it at the fake.
  delete process.env.STORAGE_EMULATOR_HOST;
  gcs = await startFakeGcs({ buckets: [BUCKET] });
});

afterEach(async () => {
  await gcs.stop();
  if (savedEmulatorHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedEmulatorHost;
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs',
    CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET,
    STORAGE_EMULATOR_HOST: gcs.url,
    ...extra,
  };
}

function storage(extra: Record<string, string> = {}): CrashStorage {
  return createGcsStorage(gcsSettings(loadConfig(env(extra))), logger);
}

describe('save()', () => {
  test('writes dumps, dump_names and the raw crash under their keys with the exact bytes, raw crash last', async () => {
    const minidump = fakeDump(64 * 1024, 1);
    const memory = fakeDump(3000, 2);
    await storage().save(testCrash({ upload_file_minidump: minidump, memory_report: memory }));

    expect(gcs.keys(BUCKET)).toEqual([DUMP_KEY, NAMES_KEY, MEMORY_KEY, RAW_KEY].sort());
    expect(gcs.getObject(BUCKET, DUMP_KEY).equals(minidump)).toBe(true);
    expect(gcs.getObject(BUCKET, MEMORY_KEY).equals(memory)).toBe(true);
    expect(JSON.parse(gcs.getObject(BUCKET, NAMES_KEY).toString())).toEqual(['memory_report', 'upload_file_minidump']);
    const raw = JSON.parse(gcs.getObject(BUCKET, RAW_KEY).toString()) as Record<string, unknown>;
    expect(raw).toMatchObject({ uuid: CRASH_ID, ProductName: 'Firefox', Version: '140.0' });
    // Sorted keys, as Python's sort_keys=True.
    expect(Object.keys(raw)).toEqual([...Object.keys(raw)].sort());
    for (const o of gcs.objects(BUCKET)) expect(o.contentType).toBe('application/octet-stream');

    // The raw crash is stored last, and its upload only started once the others were stored.
    expect(gcs.writes.map((w) => w.key).at(-1)).toBe(RAW_KEY);
    const rawUploads = gcs.requestsFor(BUCKET, RAW_KEY);
    expect(rawUploads).toHaveLength(1);
    expect(rawUploads[0]!.writesBefore).toBe(3);

    // One single-request (multipart) upload per object, anonymous towards the emulator.
    const uploads = gcs.requests.filter((r) => r.op.startsWith('upload'));
    expect(uploads).toHaveLength(4);
    for (const r of uploads) {
      expect(r.url).toContain('uploadType=multipart');
      expect(r.status).toBe(200);
    }
    expect(gcs.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  test('an 8 MiB dump round-trips byte-exactly (read back through the client with checksum validation)', async () => {
    const big = fakeDump(8 * 1024 * 1024, 7);
    await storage().save(testCrash({ upload_file_minidump: big }));
    expect(gcs.getObject(BUCKET, DUMP_KEY).equals(big)).toBe(true);
    const client = new Storage({ apiEndpoint: gcs.url, projectId: 'test', retryOptions: { autoRetry: false } });
    const [data] = await client.bucket(BUCKET).file(DUMP_KEY).download({ validation: 'crc32c' });
    expect(data.equals(big)).toBe(true);
  });

  test('a 503 on a dump rejects after exactly one request for it (no client retry), and the raw crash is not written', async () => {
    gcs.failNext(1, { status: 503, match: match.upload(DUMP_KEY) });
    const { err } = await rejection(storage().save(testCrash()));
    expect(err.message).toContain(DUMP_KEY);
    expect(err.message).toContain('503');
    expect(err.message).toMatch(/unavailable.*crashmover retries/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    expect(gcs.requestsFor(BUCKET, DUMP_KEY)).toHaveLength(1);
    expect(gcs.requestsFor(BUCKET, DUMP_KEY)[0]!.status).toBe(503);
    expect(gcs.object(BUCKET, DUMP_KEY)).toBeUndefined();
    expect(gcs.object(BUCKET, RAW_KEY)).toBeUndefined();
    expect(gcs.requestsFor(BUCKET, RAW_KEY)).toHaveLength(0);

    // The crashmover's next attempt goes through.
    await storage().save(testCrash());
    expect(gcs.keys(BUCKET)).toEqual([DUMP_KEY, NAMES_KEY, RAW_KEY].sort());
  });

  test('a 503 on the raw crash rejects after exactly one request for it; the dumps are already stored', async () => {
    gcs.failNext(1, { match: match.upload(RAW_KEY) });
    const { err } = await rejection(storage().save(testCrash()));
    expect(err.message).toContain(RAW_KEY);
    expect(gcs.requestsFor(BUCKET, RAW_KEY)).toHaveLength(1);
    expect(gcs.keys(BUCKET)).toEqual([DUMP_KEY, NAMES_KEY].sort());
  });

  test('a 403 names the role to grant', async () => {
    gcs.failNext(1, { status: 403 });
    const { err } = await rejection(storage().save(testCrash({})));
    expect(err.message).toContain('roles/storage.objectUser');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'permission_denied' });
    expect(err.message).toContain(BUCKET);
  });

  test('latency beyond CRASHMOVER_CRASHSTORAGE_TIMEOUT rejects in bounded time', async () => {
    gcs.setLatency(10_000);
    const { err, ms } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '1' }).save(testCrash()));
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_TIMEOUT');
    expect(err.message).toContain('within 1 s');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    // Well before the fake would have answered (no tight timing: the machine is noisy).
    expect(ms).toBeLessThan(8_000);
    expect(gcs.object(BUCKET, RAW_KEY)).toBeUndefined();
  });

  test('a dropped connection rejects instead of hanging', async () => {
    gcs.dropNextConnections(1, match.upload(DUMP_KEY));
    const { err, ms } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '30' }).save(testCrash()));
    expect(err.message).toContain(DUMP_KEY);
    expect(err.message).toMatch(/cannot reach GCS/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unreachable' });
    expect(ms).toBeLessThan(20_000);
    expect(gcs.requestsFor(BUCKET, DUMP_KEY).map((r) => r.status)).toEqual(['dropped']);
    expect(gcs.object(BUCKET, RAW_KEY)).toBeUndefined();
  });

  test('a missing bucket names CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', async () => {
    const { err } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'no-such-bucket' }).save(testCrash()));
    expect(err.message).toContain('"no-such-bucket" does not exist');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'bucket_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });
});

describe('verify()', () => {
  test('writes test/testfile-<uuid>.txt', async () => {
    await storage().verify();
    const keys = gcs.keys(BUCKET);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^test\/testfile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt$/);
    expect(gcs.getObject(BUCKET, keys[0]!).toString()).toBe('test');
  });

  test('fails against a missing bucket with a message naming CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', async () => {
    const { err } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'missing-bucket' }).verify());
    expect(err.message).toContain('bucket "missing-bucket" does not exist');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'bucket_missing' });
    expect(err.message).toContain('create the bucket or fix CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('fails against an unreachable emulator naming STORAGE_EMULATOR_HOST', async () => {
    const url = gcs.url;
    await gcs.stop();
    const { err } = await rejection(createGcsStorage(gcsSettings(loadConfig({ ...env(), STORAGE_EMULATOR_HOST: url })), logger).verify());
    expect(err.message).toMatch(/cannot reach GCS at http:\/\/127\.0\.0\.1:\d+/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unreachable' });
    expect(err.message).toContain('STORAGE_EMULATOR_HOST');
  });
});

describe('checkHealth()', () => {
  test('passes with one metadata GET and writes nothing', async () => {
    await storage().checkHealth();
    expect(gcs.requests.map((r) => `${r.method} ${r.op} ${r.status}`)).toEqual(['GET get 404']);
    expect(gcs.requests[0]!.object).toMatch(/^test\/testfile-.*\.txt$/);
    expect(gcs.keys(BUCKET)).toEqual([]);
  });

  test('fails when GCS answers 503, after exactly one request (no client retry)', async () => {
    gcs.failNext(5);
    const { err } = await rejection(storage().checkHealth());
    expect(err.message).toContain('503');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    expect(gcs.requests).toHaveLength(1);
  });

  test('fails when the bucket is missing', async () => {
    const { err } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'gone' }).checkHealth());
    expect(err.message).toContain('bucket "gone" does not exist');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'bucket_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('fails within its bound when GCS does not answer', async () => {
    gcs.setLatency(10_000);
    const { err, ms } = await rejection(storage({ CRASHMOVER_CRASHSTORAGE_TIMEOUT: '1' }).checkHealth());
    expect(err.message).toMatch(/no answer from GCS at .* within 1 s/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    expect(ms).toBeLessThan(8_000);
  });
});

describe('configuration', () => {
  test('STORAGE_EMULATOR_HOST in the process environment (paths without /storage/v1) works too', async () => {
    process.env.STORAGE_EMULATOR_HOST = gcs.url;
    const s = storage();
    await s.save(testCrash());
    await s.checkHealth();
    expect(gcs.keys(BUCKET)).toEqual([DUMP_KEY, NAMES_KEY, RAW_KEY].sort());
    expect(gcs.requests.find((r) => r.op === 'get')!.url).toMatch(/^\/b\//);
  });

  test('an emulator host without a scheme is taken as http', async () => {
    const s = storage({ STORAGE_EMULATOR_HOST: gcs.host });
    await s.verify();
    expect(gcs.keys(BUCKET, 'test/')).toHaveLength(1);
  });

  test('client options: retries off, anonymous emulator with a project id, ADC otherwise', () => {
    const emu = gcsClientOptions(gcsSettings(loadConfig(env())), 60_000);
    expect(emu.retryOptions?.autoRetry).toBe(false);
    expect(emu).toMatchObject({ apiEndpoint: gcs.url, useAuthWithCustomEndpoint: false, timeout: 60_000 });
    expect(emu.projectId).toBeTruthy();

    const cloud = gcsClientOptions(gcsSettings(loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET })), 60_000);
    expect(cloud.retryOptions?.autoRetry).toBe(false);
    expect(cloud.apiEndpoint).toBeUndefined();
    expect(cloud.authClient).toBeUndefined();
    expect(cloud.credentials).toBeUndefined();
  });

  test('a missing bucket name is refused up front', () => {
    expect(() => createGcsStorage(gcsSettings(loadConfig({})), logger)).toThrow('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME is required');
    expect(() => createGcsStorage(gcsSettings(loadConfig({})), logger)).toThrow(expect.objectContaining({ kind: 'configuration', reason: 'setting_missing' }));
  });
});

describe('error kinds (what start-up and the crashmover act on)', () => {
  const ctx = { action: 'upload' as const, bucket: BUCKET, endpoint: 'https://storage.googleapis.com', timeoutSeconds: 5, emulator: false };
  test.each([
    [{ code: 401, message: 'Invalid Credentials' }, 'configuration', 'bad_credentials'],
    [new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication'), 'configuration', 'no_credentials'],
    [{ code: 400, message: 'Invalid bucket name' }, 'configuration', 'rejected'],
    [{ code: 429, message: 'rate limit exceeded' }, 'transient', 'throttled'],
    [{ code: 408, message: 'Request Timeout' }, 'transient', 'timeout'],
    [{ code: 502, message: 'Bad Gateway' }, 'transient', 'unavailable'],
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'transient', 'unreachable'],
    [{ code: 'FILE_NO_UPLOAD', message: 'The uploaded data did not match the data from the server.' }, 'transient', 'checksum_mismatch'],
    [new TypeError('something unexpected'), 'transient', 'unknown'],
  ])('%o is %s (%s)', (err, kind, reason) => {
    expect(kindOf(describeGcsError(err, ctx))).toEqual({ kind, reason });
  });
});
