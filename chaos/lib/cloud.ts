/** GCS + Pub/Sub fakes (test/support) for the spool scenarios, with an on/off outage switch. */
import { startFakeGcs, type FakeGcs } from '../../test/support/fake-gcs';
import { startFakePubSub, type FakePubSub } from '../../test/support/fake-pubsub';
import type { Read } from './verify';

export interface Cloud {
  gcs: FakeGcs;
  pubsub: FakePubSub;
  env: Record<string, string>;
  read: Read;
  /** Storage answers 503 and publishing fails while on. */
  outage(on: boolean): void;
  /** Crash ids published so far (the start-up `test` message left out). */
  published(): string[];
  stop(): Promise<void>;
}

export async function startCloud(): Promise<Cloud> {
  const [BUCKET, PROJECT, TOPIC] = ['chaos-crashes', 'chaos-project', 'chaos-topic'];
  const gcs = await startFakeGcs({ buckets: [BUCKET] });
  const pubsub = await startFakePubSub({ topics: [`projects/${PROJECT}/topics/${TOPIC}`] });
  return {
    gcs,
    pubsub,
    env: {
      CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs',
      CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET,
      STORAGE_EMULATOR_HOST: gcs.url,
      CRASHMOVER_CRASHPUBLISH_CLASS: 'pubsub',
      CRASHMOVER_CRASHPUBLISH_PROJECT_ID: PROJECT,
      CRASHMOVER_CRASHPUBLISH_TOPIC_NAME: TOPIC,
      PUBSUB_EMULATOR_HOST: pubsub.host,
    },
    read: async (key) => gcs.object(BUCKET, key),
    outage(on) {
      pubsub.faults.clear();
      gcs.clearFaults();
      if (!on) return;
      gcs.setDown(true);
      pubsub.faults.failNext(Number.MAX_SAFE_INTEGER, { method: 'Publish' });
    },
    published: () =>
      pubsub
        .messages(PROJECT, TOPIC)
        .map((m) => m.toString())
        .filter((m) => m !== 'test'),
    async stop() {
      await gcs.stop();
      await pubsub.stop();
    },
  };
}
