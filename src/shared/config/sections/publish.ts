import { choice, num, optionalStr } from '../option';

export const PUBLISH_CLASSES = ['noop', 'pubsub', 'sqs'] as const;
export type PublishClass = (typeof PUBLISH_CLASSES)[number];

/** Where saved crash ids are published for the processors. */
export const publishOptions = {
  class: choice<PublishClass>({
    env: 'CRASHMOVER_CRASHPUBLISH_CLASS',
    default: 'noop',
    values: PUBLISH_CLASSES,
    valueAliases: {
      'antenna.ext.crashpublish_base.NoOpCrashPublish': 'noop',
      'antenna.ext.pubsub.crashpublish.PubSubCrashPublish': 'pubsub',
      'antenna.ext.sqs.crashpublish.SQSCrashPublish': 'sqs',
    },
    doc: 'Publish backend: `noop` (the embedded default), `pubsub` or `sqs`.',
  }),
  projectId: optionalStr({ env: 'CRASHMOVER_CRASHPUBLISH_PROJECT_ID', doc: 'Google Cloud project of the Pub/Sub topic.', expected: 'a project id' }),
  topicName: optionalStr({ env: 'CRASHMOVER_CRASHPUBLISH_TOPIC_NAME', doc: 'Pub/Sub topic that receives crash ids.', expected: 'a topic name' }),
  timeoutSeconds: num({
    env: 'CRASHMOVER_CRASHPUBLISH_TIMEOUT',
    default: 5,
    min: 0.1,
    doc: 'Seconds one publish call may take before it counts as failed.',
  }),
  pubsubEmulatorHost: optionalStr({
    env: 'PUBSUB_EMULATOR_HOST',
    doc: 'host:port of a Pub/Sub emulator; when set, `pubsub` uses it without credentials.',
    expected: 'host:port',
  }),
  queueName: optionalStr({
    env: 'CRASHMOVER_CRASHPUBLISH_QUEUE_NAME',
    doc: 'SQS queue for `sqs`: a queue name (resolved with GetQueueUrl) or a full queue URL.',
    expected: 'a queue name or URL',
  }),
  region: optionalStr({
    env: 'CRASHMOVER_CRASHPUBLISH_REGION',
    doc: "AWS region of the `sqs` queue (default: the SDK's own resolution, e.g. `AWS_REGION`).",
    expected: 'an AWS region such as `us-west-2`',
  }),
  endpointUrl: optionalStr({
    env: 'CRASHMOVER_CRASHPUBLISH_ENDPOINT_URL',
    doc: 'Endpoint of an SQS-compatible service (a local fake) for `sqs`; unset = AWS.',
    expected: 'a URL',
  }),
  accessKey: optionalStr({
    env: 'CRASHMOVER_CRASHPUBLISH_ACCESS_KEY',
    doc: "Access key id for `sqs`; unset = the SDK's default credential chain.",
    expected: 'an access key id',
  }),
  secretAccessKey: optionalStr({
    env: 'CRASHMOVER_CRASHPUBLISH_SECRET_ACCESS_KEY',
    secret: true,
    doc: 'Secret access key for `sqs`, together with `CRASHMOVER_CRASHPUBLISH_ACCESS_KEY`.',
    expected: 'a secret access key',
  }),
};
