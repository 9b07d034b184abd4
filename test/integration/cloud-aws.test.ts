/** The real server against S3 and SQS (fauxqs behind test/support/fake-aws; test/support/cloud-suite). */
import { cloudServerTests } from '../support/cloud-suite';
import { startFakeAws } from '../support/fake-aws';

const BUCKET = 'cloud-crashes';
const QUEUE = 'cloud-crash-ids';

jest.setTimeout(120_000);

cloudServerTests(async () => {
  const aws = await startFakeAws();
  await aws.createBucket(BUCKET);
  let queueUrl = await aws.createQueue(QUEUE);
  const received: string[] = [];
  return {
    storageName: 'S3CrashStorage',
    publisherName: 'SQSCrashPublish',
    env: ({ bucket = BUCKET, queue = QUEUE } = {}) => ({ ...aws.storageEnv(bucket), ...aws.publishEnv(queue), AWS_EC2_METADATA_DISABLED: 'true' }),
    read: (key) => aws.getObject(BUCKET, key),
    keys: (prefix) => aws.keys(BUCKET, prefix),
    async published() {
      received.push(...(await aws.receiveAll(queueUrl)).map((m) => m.body));
      return [...received];
    },
    removeBucket: () => aws.deleteBucket(BUCKET),
    restoreBucket: () => aws.createBucket(BUCKET),
    removeQueue: () => aws.deleteQueue(queueUrl),
    async restoreQueue() {
      queueUrl = await aws.createQueue(QUEUE);
    },
    stop: () => aws.stop(),
  };
});
