/**
 * Store-and-forward through a GCS outage (issue 7): the real server (a child
 * process, two workers) saves to the fake GCS and publishes to the fake
 * Pub/Sub. GCS answers 503 to everything for OUTAGE_MS while a client posts
 * crashes steadily; every crash must still get 200, the node must stay
 * healthy, and after the outage every acknowledged crash must be in the
 * bucket byte for byte and on the topic exactly once.
 */
import path from 'node:path';
import { acknowledged, bucketProblems, failures, heartbeat, postSteadily, queueProblems, sleep, waitFor, type HeartbeatBody } from '../support/cloud-crashes';
import { startFakeGcs, type FakeGcs } from '../support/fake-gcs';
import { startFakePubSub, type FakePubSub } from '../support/fake-pubsub';
import { startServer, tempDir, type RunningServer } from '../support/server';

/** How long storage is down (the issue asks for a minute). */
const OUTAGE_MS = 60_000;
const BUCKET = 'outage-crashes';
const PROJECT = 'outage-project';
const TOPIC = 'outage-topic';
const SUBSCRIPTION = 'outage-processor';

jest.setTimeout(OUTAGE_MS + 180_000);

let gcs: FakeGcs;
let pubsub: FakePubSub;
let server: RunningServer | undefined;

beforeAll(async () => {
  gcs = await startFakeGcs({ buckets: [BUCKET] });
  pubsub = await startFakePubSub({ topics: [`projects/${PROJECT}/topics/${TOPIC}`] });
  pubsub.createSubscription(PROJECT, SUBSCRIPTION, PROJECT, TOPIC);
});

afterAll(async () => {
  await server?.stop();
  await gcs?.stop();
  await pubsub?.stop();
});

test(`GCS down for ${OUTAGE_MS / 1000} s under steady load: every crash gets 200, the node stays healthy, and all reach the bucket and the topic once`, async () => {
  server = await startServer({
    CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs',
    CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET,
    STORAGE_EMULATOR_HOST: gcs.url,
    CRASHMOVER_CRASHPUBLISH_CLASS: 'pubsub',
    CRASHMOVER_CRASHPUBLISH_PROJECT_ID: PROJECT,
    CRASHMOVER_CRASHPUBLISH_TOPIC_NAME: TOPIC,
    PUBSUB_EMULATOR_HOST: pubsub.host,
    // CRASHMOVER_SPOOL is left at its default (auto: on for gcs).
    CRASHMOVER_SPOOL_DIR: path.join(tempDir(), 'spool'),
    CRASHMOVER_CRASHSTORAGE_TIMEOUT: '10',
    CRASHMOVER_RETRY_SLEEP_SECONDS: '0.5',
    CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '2',
    HEARTBEAT_INTERVAL: '250',
    HEALTH_CHECK_INTERVAL: '1',
    WORKERS: '2',
  });
  const base = server.url;

  gcs.setDown(true);
  const outageEnds = Date.now() + OUTAGE_MS;
  const load = postSteadily(base, { clients: 2, intervalMs: 600, maxTotal: 400, stop: () => Date.now() > outageEnds });

  // The node stays healthy while it spools.
  const beats: Array<{ status: number; body: HeartbeatBody }> = [];
  while (Date.now() < outageEnds) {
    beats.push(await heartbeat(base));
    await sleep(1000);
  }
  const sent = await load;
  gcs.setDown(false);

  expect(failures(sent)).toEqual([]);
  const ids = acknowledged(sent);
  expect(ids.size).toBeGreaterThan(OUTAGE_MS / 1000); // at least one a second
  expect(beats.filter((b) => b.status !== 200)).toEqual([]);
  // Storage really was down: nothing but failed requests, crashes piling up, the storage failure shown as a warning.
  expect(Math.max(...beats.map((b) => b.body.spool!.crashes))).toBeGreaterThan(10);
  expect(beats.some((b) => b.body.spool!.backends.some((w) => w.name === 'GcsCrashStorage'))).toBe(true);
  expect(gcs.keys(BUCKET, 'v1/')).toEqual([]);

  await waitFor('an empty spool', async () => (await heartbeat(base)).body.spool!.crashes === 0, 120_000, 500);
  expect(await bucketProblems(ids, (key) => gcs.object(BUCKET, key))).toEqual([]);
  // Nothing else in the bucket: each crash saved under its acknowledged id only.
  expect(gcs.keys(BUCKET, 'v1/raw_crash/').length).toBe(ids.size);

  const published = () => pubsub.unacked(PROJECT, SUBSCRIPTION).map((m) => m.data.toString()).filter((id) => id !== 'test');
  await waitFor('every id on the subscription', () => published().length >= ids.size, 30_000);
  expect(queueProblems(ids.values(), published())).toEqual([]);
  expect(published().length).toBe(ids.size);

  const after = await heartbeat(base);
  expect(after.status).toBe(200);
  await waitFor('no backend warnings', async () => (await heartbeat(base)).body.spool!.backends.length === 0, 15_000);
});
