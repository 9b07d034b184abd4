/**
 * Raw crash last, where it can break in the cloud backends: the raw crash
 * (whose presence tells the processor a crash is complete) is not even
 * requested while a dump or dump_names upload is still open, and never when
 * one of them fails. The fakes hold the uploads open (test/support/fake-gcs,
 * fake-aws `hold`), so the order does not depend on how fast they answer.
 */
// The GCS client's HTTP layers import node-fetch (ESM) dynamically, which Jest's vm
// cannot: load them with Node's own loader (see test/support/fake-gcs/index.ts).
jest.mock('teeny-request', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('teeny-request'));
jest.mock('gaxios', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('gaxios'));

import { loadConfig, gcsSettings, s3Settings } from '../../../src/shared/config';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createGcsStorage } from '../../../src/worker/storage/gcs';
import { createS3Storage } from '../../../src/worker/storage/s3';
import { CRASH_ID, freshFakeEachTest, kindOf, rejection, silentLogger, testCrash } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { startFakeAws, type FakeAws } from '../../support/fake-aws';
import { startFakeGcs, type FakeGcs } from '../../support/fake-gcs';
import { sleep, waitFor } from '../../support/wait';

// Never the machine's cloud configuration: no metadata servers, no profiles.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const BUCKET = 'antenna-crashes';
const RAW_KEY = `v1/raw_crash/20160918/${CRASH_ID}`;
const DUMP_KEY = `v1/dump/${CRASH_ID}`;
const MEMORY_KEY = `v1/memory_report/${CRASH_ID}`;
const NAMES_KEY = `v1/dump_names/${CRASH_ID}`;
const FIRST_KEYS = [DUMP_KEY, MEMORY_KEY, NAMES_KEY];

/**
 * A raw crash sent alongside the dumps would be on its way when they arrive:
 * this long after they did, it would have arrived too. (Waiting longer only
 * makes the check stricter; a correct save passes however long it is.)
 */
const GRACE_MS = 300;

const crash = () => testCrash({ upload_file_minidump: fakeDump(64 * 1024, 1), memory_report: fakeDump(3000, 2) });

/** One cloud backend and its fake, seen the same way. */
interface Backend {
  storage(): CrashStorage;
  /** Holds every upload except the raw crash's; returns the release. */
  holdFirst(): () => void;
  /** Makes the next upload of `key` fail with a 503. */
  fail503(key: string): void;
  /** Requests for one object so far, with their status once answered. */
  requestsFor(key: string): Array<{ status?: unknown }>;
  /** Whether the object is stored. */
  stored(key: string): Promise<boolean>;
}

function rawCrashLastTests(backend: () => Backend): void {
  test('while the dumps and dump_names uploads are held open, the raw crash is not requested; once they are stored, it is', async () => {
    const b = backend();
    const release = b.holdFirst();
    const saved = b.storage().save(crash());
    let settled = false;
    void saved.then(
      () => (settled = true),
      () => (settled = true),
    );
    await waitFor('the dump and dump_names uploads to arrive', () => FIRST_KEYS.every((k) => b.requestsFor(k).length === 1), 20_000, 5);
    await sleep(GRACE_MS);
    expect(b.requestsFor(RAW_KEY)).toEqual([]);
    expect(settled).toBe(false);

    release();
    await saved;
    expect(b.requestsFor(RAW_KEY)).toHaveLength(1);
    for (const k of [...FIRST_KEYS, RAW_KEY]) expect(await b.stored(k)).toBe(true);
  });

  test('a 503 on a dump: save() rejects, and the raw crash is never requested, not even once the other uploads finish', async () => {
    const b = backend();
    const release = b.holdFirst();
    b.fail503(DUMP_KEY);
    const result = rejection(b.storage().save(crash()));
    await waitFor('the dump and dump_names uploads to arrive', () => FIRST_KEYS.every((k) => b.requestsFor(k).length === 1), 20_000, 5);
    await sleep(GRACE_MS);
    expect(b.requestsFor(RAW_KEY)).toEqual([]);

    release();
    const { err } = await result;
    expect(err.message).toContain(DUMP_KEY);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    // Whatever was still open finishes; the raw crash still never comes.
    await waitFor('every upload to be answered', () => FIRST_KEYS.every((k) => b.requestsFor(k)[0]?.status !== undefined), 20_000, 5);
    await sleep(GRACE_MS);
    expect(b.requestsFor(RAW_KEY)).toEqual([]);
    expect(await b.stored(RAW_KEY)).toBe(false);
    expect(await b.stored(DUMP_KEY)).toBe(false);
  });
}

describe('GCS', () => {
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

  rawCrashLastTests(() => ({
    storage: () =>
      createGcsStorage(
        gcsSettings(loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET, STORAGE_EMULATOR_HOST: gcs.url })),
        silentLogger,
      ),
    holdFirst: () => gcs.hold((r) => r.op.startsWith('upload') && r.object !== RAW_KEY),
    fail503: (key) => gcs.failNext(1, { status: 503, match: (r) => r.op.startsWith('upload') && r.object === key }),
    requestsFor: (key) => gcs.requestsFor(BUCKET, key),
    stored: async (key) => gcs.object(BUCKET, key) !== undefined,
  }));
});

describe('S3', () => {
  let fake: FakeAws;
  const closeAfterTest = freshFakeEachTest(startFakeAws, (f) => (fake = f));
  beforeEach(async () => {
    await fake.createBucket(BUCKET);
  });

  rawCrashLastTests(() => ({
    storage: () => {
      const s = createS3Storage(s3Settings(loadConfig(fake.storageEnv(BUCKET))), silentLogger);
      closeAfterTest(() => s.close());
      return s;
    },
    holdFirst: () => fake.hold((r) => r.method === 'PUT' && r.bucket === BUCKET && r.key !== RAW_KEY),
    fail503: (key) => fake.failNext(1, { status: 503, match: (r) => r.method === 'PUT' && r.key === key }),
    requestsFor: (key) => fake.requestsFor(BUCKET, key),
    stored: async (key) => (await fake.getObject(BUCKET, key)) !== undefined,
  }));
});
