/**
 * What fauxqs holds, as tests see and seed it: buckets, objects, queues and
 * messages, through real AWS SDK clients that talk to fauxqs directly (one
 * attempt, dummy credentials), so the proxy's faults never touch them.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { FAKE_ACCESS_KEY, FAKE_REGION, FAKE_SECRET, type FakeAws } from './types';

export type StoreView = Pick<FakeAws, 'createBucket' | 'deleteBucket' | 'createQueue' | 'deleteQueue' | 'getObject' | 'keys' | 'receiveAll'> & {
  destroy(): void;
};

export function storeView(fauxqsUrl: string): StoreView {
  const common = {
    region: FAKE_REGION,
    endpoint: fauxqsUrl,
    credentials: { accessKeyId: FAKE_ACCESS_KEY, secretAccessKey: FAKE_SECRET },
    maxAttempts: 1,
  };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sqs = new SQSClient(common);

  const view: StoreView = {
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async deleteBucket(name) {
      for (const key of await view.keys(name)) await s3.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
      await s3.send(new DeleteBucketCommand({ Bucket: name }));
    },
    async createQueue(name) {
      const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      return out.QueueUrl!;
    },
    async deleteQueue(queueUrl) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
    async getObject(bucket, key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async keys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of out.Contents ?? []) keys.push(o.Key!);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async receiveAll(queueUrl, messages = []) {
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
        );
        const batch = out.Messages ?? [];
        if (batch.length === 0) return messages;
        for (const m of batch) {
          messages.push({ body: m.Body!, attributes: m.MessageAttributes });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
    },
    destroy() {
      s3.destroy();
      sqs.destroy();
    },
  };
  return view;
}
