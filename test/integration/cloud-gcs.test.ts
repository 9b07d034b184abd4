/** The real server against the GCS and Pub/Sub fakes (test/support/cloud-suite). */
import { cloudServerTests } from '../support/cloud-suite';
import { startFakeGcs } from '../support/fake-gcs';
import { startFakePubSub } from '../support/fake-pubsub';

const BUCKET = 'cloud-crashes';
const PROJECT = 'cloud-project';
const TOPIC = 'cloud-topic';
const SUBSCRIPTION = 'cloud-processor';

jest.setTimeout(120_000);

cloudServerTests(async () => {
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
    async stop() {
      await gcs.stop();
      await pubsub.stop();
    },
  };
});
