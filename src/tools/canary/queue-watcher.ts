/**
 * Read-side clients for the collector's queue. A canary must never take
 * messages from the processors, so it reads only a queue of its own:
 *
 * - Pub/Sub: a subscription of the collector's topic that only the canary
 *   reads (`--subscription`). Every subscription gets every message, so the
 *   canary acks everything it receives and picks out its own ids.
 * - SQS: a queue has one set of consumers; the canary reads a queue given by
 *   `--sqs-queue` and deletes every message it receives. That is sound only
 *   for a queue no processor reads (a canary or staging node's queue, or a
 *   copy of the ids fanned out through SNS); on the processors' queue, use
 *   `--no-queue-check`.
 */
import type { Config } from '../../shared/config';
import { KindedError } from '../../shared/failure';

export interface QueueWatcher {
  describe: string;
  /** Starts receiving; `onId` is called with each message body, as it arrives. Rejects when the queue cannot be read at all. */
  start(onId: (id: string) => void): Promise<void>;
  /** The last receive error since start, if any (the watcher keeps trying). */
  lastError(): string | undefined;
  close(): Promise<void>;
}

export async function createQueueWatcher(config: Config, opts: { subscription?: string; sqsQueue?: string }): Promise<QueueWatcher> {
  const p = config.publish;
  if (p.class === 'pubsub') {
    if (!opts.subscription) {
      throw new KindedError(
        'configuration',
        'subscription_missing',
        `the collector publishes to Pub/Sub topic ${p.topicName}: pass --subscription NAME, a subscription of that topic that only the canary reads ` +
          '(gcloud pubsub subscriptions create antenna-canary --topic ' +
          `${p.topicName}), or --no-queue-check`,
      );
    }
    return pubsubWatcher(config, opts.subscription);
  }
  if (p.class === 'sqs') {
    if (!opts.sqsQueue) {
      throw new KindedError(
        'configuration',
        'queue_missing',
        `the collector publishes to SQS queue ${p.queueName}, which the processors consume: pass --sqs-queue NAME|URL, a queue that only the canary reads ` +
          'and that receives every crash id, or --no-queue-check (see docs/canary.md)',
      );
    }
    return sqsWatcher(config, opts.sqsQueue);
  }
  throw new KindedError('configuration', 'publish_noop', 'CRASHMOVER_CRASHPUBLISH_CLASS=noop publishes nothing: pass --no-queue-check');
}

async function pubsubWatcher(config: Config, name: string): Promise<QueueWatcher> {
  const { PubSub, Duration } = await import('@google-cloud/pubsub');
  const { pubSubClientOptions } = await import('../../worker/publish/pubsub');
  const client = new PubSub(pubSubClientOptions(config.publish));
  const subscription = client.subscription(name, {
    flowControl: { maxMessages: 1000, allowExcessMessages: false },
    // The client drops a message from its inventory only once its ack is flushed; the default
    // close (nack what is left) would nack a message whose ack is still on its way, and it
    // would come back. Waiting lets the last acks land.
    closeOptions: { behavior: 'WAIT', timeout: Duration.from({ seconds: 5 }) },
  });
  const expectedTopic = `projects/${config.publish.projectId}/topics/${config.publish.topicName}`;
  let error: string | undefined;
  return {
    describe: `Pub/Sub subscription ${subscription.name}`,
    async start(onId) {
      let topic: string | null | undefined;
      try {
        [{ topic }] = await subscription.getMetadata();
      } catch (err) {
        throw new KindedError(
          'configuration',
          'subscription_unreadable',
          `cannot read --subscription ${name} (${(err as Error).message}); create it on topic ${expectedTopic} and grant the canary roles/pubsub.subscriber on it`,
          { cause: err },
        );
      }
      if (topic !== expectedTopic) {
        throw new KindedError(
          'configuration',
          'subscription_wrong_topic',
          `--subscription ${name} is on topic ${topic}, not the collector's ${expectedTopic} (CRASHMOVER_CRASHPUBLISH_PROJECT_ID/TOPIC_NAME)`,
        );
      }
      subscription.on('message', (m: { data: Buffer; ack(): void }) => {
        m.ack();
        onId(m.data.toString('utf8'));
      });
      subscription.on('error', (err: Error) => {
        error = err.message;
      });
    },
    lastError: () => error,
    async close() {
      await subscription.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}

async function sqsWatcher(config: Config, queue: string): Promise<QueueWatcher> {
  const { SQSClient, GetQueueUrlCommand, ReceiveMessageCommand, DeleteMessageBatchCommand } = await import('@aws-sdk/client-sqs');
  const { sqsClientConfig } = await import('../../worker/publish/sqs');
  // Long polls of up to 5 s: the request timeout must outlast them.
  const client = new SQSClient(sqsClientConfig(config.publish, 15_000));
  let error: string | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  const abort = new AbortController();
  return {
    describe: `SQS queue ${queue}`,
    async start(onId) {
      let url = queue;
      if (!/^https?:\/\//i.test(queue)) {
        try {
          url = (await client.send(new GetQueueUrlCommand({ QueueName: queue }))).QueueUrl!;
        } catch (err) {
          throw new KindedError(
            'configuration',
            'queue_unreadable',
            `cannot find --sqs-queue ${queue} (${(err as Error).message}); create it or fix the name`,
            { cause: err },
          );
        }
      }
      loop = (async () => {
        while (!stopped) {
          try {
            const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }), {
              abortSignal: abort.signal,
            });
            const batch = out.Messages ?? [];
            for (const m of batch) onId(m.Body ?? '');
            if (batch.length > 0) {
              await client.send(
                new DeleteMessageBatchCommand({ QueueUrl: url, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
                { abortSignal: abort.signal },
              );
            }
          } catch (err) {
            if (stopped) break;
            error = (err as Error).message;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      })();
    },
    lastError: () => error,
    async close() {
      stopped = true;
      abort.abort();
      await loop;
      client.destroy();
    },
  };
}
