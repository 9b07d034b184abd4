/**
 * The two cloud setups of the server-level tests, each adapting its fakes to
 * `CloudSetup`: GCS + Pub/Sub (fake-gcs, fake-pubsub) and S3 + SQS (fauxqs
 * behind fake-aws). Every name is prefixed so that setups never collide.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { startFakeAws, type ReceivedMessage } from './fake-aws';
import { startFakeGcs } from './fake-gcs';
import { startFakePubSub } from './fake-pubsub';

export type OutageMode = 'errors' | 'drops' | false;

/**
 * A fault of one backend only, on every request to it (health checks too):
 * `unavailable` = 503 / UNAVAILABLE, `unreachable` = connections dropped
 * (storage only), `denied` = 403 / PERMISSION_DENIED.
 */
export type BackendFault = 'unavailable' | 'unreachable' | 'denied' | false;

export interface CloudSetup {
  /** The names the backends report in `/__heartbeat__` and in logs. */
  storageName: string;
  publisherName: string;
  /** Server environment: storage and publisher on the fakes; `bucket` / `queue` override the names. */
  env(names?: { bucket?: string; queue?: string }): Record<string, string>;
  /** An object of the bucket, or undefined. */
  read(key: string): Promise<Buffer | undefined>;
  keys(prefix: string): Promise<string[]>;
  /** Every message body published so far (pulled from a subscription / received from the queue). */
  published(): Promise<string[]>;
  /** Deletes / recreates the bucket (emptied), and the topic or queue. */
  removeBucket(): Promise<void>;
  restoreBucket(): Promise<void>;
  removeQueue(): Promise<void>;
  restoreQueue(): Promise<void>;
  /** Storage and publishing fail: every request answered with 503 / UNAVAILABLE (`errors`), or its connection dropped (`drops`); `false` ends it. */
  outage(mode: OutageMode): void;
  /** Only storage or only publishing fails (see BackendFault) until called with `false`; one fault at a time. */
  backendFault(backend: 'storage' | 'publish', fault: BackendFault): void;
  /** Storage requests that got an injected fault so far, by kind. */
  storageFaults(): { errors: number; drops: number };
  stop(): Promise<void>;
}

export async function startGcsSetup(prefix: string): Promise<CloudSetup> {
  const [BUCKET, PROJECT, TOPIC, SUBSCRIPTION] = ['crashes', 'project', 'topic', 'processor'].map((n) => `${prefix}-${n}`) as [string, string, string, string];
  const gcs = await startFakeGcs({ buckets: [BUCKET] });
  const pubsub = await startFakePubSub({ topics: [`projects/${PROJECT}/topics/${TOPIC}`] });
  pubsub.createSubscription(PROJECT, SUBSCRIPTION, PROJECT, TOPIC);
  return {
    storageName: 'GcsCrashStorage',
    publisherName: 'PubSubCrashPublish',
    env: ({ bucket = BUCKET, queue = TOPIC } = {}) => ({
      CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs',
      CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: bucket,
      STORAGE_EMULATOR_HOST: gcs.url,
      CRASHMOVER_CRASHPUBLISH_CLASS: 'pubsub',
      CRASHMOVER_CRASHPUBLISH_PROJECT_ID: PROJECT,
      CRASHMOVER_CRASHPUBLISH_TOPIC_NAME: queue,
      PUBSUB_EMULATOR_HOST: pubsub.host,
    }),
    read: async (key) => gcs.object(BUCKET, key),
    keys: async (prefix) => gcs.keys(BUCKET, prefix),
    published: async () => pubsub.unacked(PROJECT, SUBSCRIPTION).map((m) => m.data.toString()),
    removeBucket: async () => gcs.removeBucket(BUCKET),
    restoreBucket: async () => gcs.createBucket(BUCKET),
    removeQueue: async () => pubsub.deleteTopic(PROJECT, TOPIC),
    restoreQueue: async () => pubsub.createTopic(PROJECT, TOPIC),
    outage(mode) {
      pubsub.faults.clear();
      if (!mode) return gcs.clearFaults();
      // Down stays on with drops: fake-gcs drops a request on arrival but answers 503 only once
      // its body is in, so a request that arrived just before the switch still gets its 503.
      gcs.setDown(true);
      if (mode === 'drops') gcs.dropNextConnections(Number.MAX_SAFE_INTEGER);
      pubsub.faults.failNext(Number.MAX_SAFE_INTEGER, { method: 'Publish' });
    },
    backendFault(backend, fault) {
      if (backend === 'storage') {
        gcs.clearFaults();
        if (fault === 'unavailable' || fault === 'unreachable') gcs.setDown(true);
        if (fault === 'unreachable') gcs.dropNextConnections(Number.MAX_SAFE_INTEGER);
        else if (fault === 'denied') gcs.failNext(Number.MAX_SAFE_INTEGER, { status: 403 });
      } else {
        pubsub.faults.clear();
        if (fault === 'unreachable') throw new Error('backendFault: unreachable is for storage only');
        if (fault) pubsub.faults.failNext(Number.MAX_SAFE_INTEGER, { code: fault === 'denied' ? grpcStatus.PERMISSION_DENIED : grpcStatus.UNAVAILABLE });
      }
    },
    storageFaults: () => ({
      errors: gcs.requests.filter((r) => r.status === 503).length,
      drops: gcs.requests.filter((r) => r.status === 'dropped').length,
    }),
    async stop() {
      await gcs.stop();
      await pubsub.stop();
    },
  };
}

export async function startAwsSetup(prefix: string): Promise<CloudSetup> {
  const [BUCKET, QUEUE] = [`${prefix}-crashes`, `${prefix}-crash-ids`];
  const aws = await startFakeAws();
  await aws.createBucket(BUCKET);
  let queueUrl = await aws.createQueue(QUEUE);
  const received: ReceivedMessage[] = [];
  return {
    storageName: 'S3CrashStorage',
    publisherName: 'SQSCrashPublish',
    env: ({ bucket = BUCKET, queue = QUEUE } = {}) => ({ ...aws.storageEnv(bucket), ...aws.publishEnv(queue), AWS_EC2_METADATA_DISABLED: 'true' }),
    read: (key) => aws.getObject(BUCKET, key),
    keys: (prefix) => aws.keys(BUCKET, prefix),
    async published() {
      // Messages are deleted as they are read; a receive that fails on a busy machine keeps
      // what it got, and the caller's next poll picks up the rest.
      await aws.receiveAll(queueUrl, received).catch(() => undefined);
      return received.map((m) => m.body);
    },
    removeBucket: () => aws.deleteBucket(BUCKET),
    restoreBucket: () => aws.createBucket(BUCKET),
    removeQueue: () => aws.deleteQueue(queueUrl),
    async restoreQueue() {
      queueUrl = await aws.createQueue(QUEUE);
    },
    // S3 and SQS share the endpoint: an outage takes down both.
    outage: (mode) => aws.setDown(mode === 'errors' ? { status: 503 } : mode === 'drops' ? { drop: true } : false),
    backendFault(backend, fault) {
      const service = backend === 'storage' ? 's3' : 'sqs';
      aws.setDown(fault && { status: fault === 'denied' ? 403 : 503, drop: fault === 'unreachable', match: (r) => r.service === service });
    },
    storageFaults: () => {
      const s3 = aws.requests.filter((r) => r.injected && r.service === 's3');
      return { errors: s3.filter((r) => r.status === 503).length, drops: s3.filter((r) => r.status === 'dropped').length };
    },
    stop: () => aws.stop(),
  };
}
