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
};
