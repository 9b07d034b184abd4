import { KindedError } from '../failure';
import type { Config } from './index';

/**
 * Each cloud backend's own slice of the configuration, built once when the
 * backend is created: the settings it needs, with the required ones present
 * (typed so) and the timeouts in milliseconds.
 */

/** One request's bound, and the heartbeat's: the smaller of that and HEALTH_CHECK_TIMEOUT. */
export interface RequestTimeouts {
  timeoutSeconds: number;
  timeoutMs: number;
  healthTimeoutMs: number;
}

export type GcsSettings = Readonly<RequestTimeouts & { bucketName: string; storageEmulatorHost?: string; dumpField: string }>;

export type S3Settings = Readonly<
  RequestTimeouts & {
    bucketName: string;
    region?: string;
    endpointUrl?: string;
    forcePathStyle: boolean;
    accessKey?: string;
    secretAccessKey?: string;
    dumpField: string;
  }
>;

export type PubSubSettings = Readonly<RequestTimeouts & { projectId: string; topicName: string; pubsubEmulatorHost?: string }>;

export type SqsSettings = Readonly<
  RequestTimeouts & { queueName: string; region?: string; endpointUrl?: string; accessKey?: string; secretAccessKey?: string }
>;

/** The message for a setting the chosen backend cannot do without; loadConfig reports the same. */
export const requiredMessage = (variable: string, when: string): string => `${variable} is required when ${when}.`;

/** Settings the chosen storage and publish classes need but lack, as loadConfig reports them. */
export function missingBackendSettings(c: Config): string[] {
  const missing: string[] = [];
  const storage = `CRASHMOVER_CRASHSTORAGE_CLASS=${c.storage.class}`;
  if ((c.storage.class === 'gcs' || c.storage.class === 's3') && !c.storage.bucketName)
    missing.push(requiredMessage('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', storage));
  const publish = `CRASHMOVER_CRASHPUBLISH_CLASS=${c.publish.class}`;
  if (c.publish.class === 'pubsub') {
    if (!c.publish.projectId) missing.push(requiredMessage('CRASHMOVER_CRASHPUBLISH_PROJECT_ID', publish));
    if (!c.publish.topicName) missing.push(requiredMessage('CRASHMOVER_CRASHPUBLISH_TOPIC_NAME', publish));
  }
  if (c.publish.class === 'sqs' && !c.publish.queueName) missing.push(requiredMessage('CRASHMOVER_CRASHPUBLISH_QUEUE_NAME', publish));
  return missing;
}

function required<T>(value: T | undefined, variable: string, when: string): T {
  if (!value) throw new KindedError('configuration', 'setting_missing', requiredMessage(variable, when));
  return value;
}

function timeouts(timeoutSeconds: number, config: Config): RequestTimeouts {
  const timeoutMs = Math.max(1, Math.round(timeoutSeconds * 1000));
  return { timeoutSeconds, timeoutMs, healthTimeoutMs: Math.min(timeoutMs, config.cluster.healthCheckTimeoutSeconds * 1000) };
}

export function gcsSettings(config: Config): GcsSettings {
  const s = config.storage;
  return Object.freeze({
    bucketName: required(s.bucketName, 'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', 'CRASHMOVER_CRASHSTORAGE_CLASS=gcs'),
    storageEmulatorHost: s.storageEmulatorHost,
    dumpField: config.breakpad.dumpField,
    ...timeouts(s.timeoutSeconds, config),
  });
}

export function s3Settings(config: Config): S3Settings {
  const s = config.storage;
  return Object.freeze({
    bucketName: required(s.bucketName, 'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', 'CRASHMOVER_CRASHSTORAGE_CLASS=s3'),
    region: s.region,
    endpointUrl: s.endpointUrl,
    forcePathStyle: s.forcePathStyle,
    accessKey: s.accessKey,
    secretAccessKey: s.secretAccessKey,
    dumpField: config.breakpad.dumpField,
    ...timeouts(s.timeoutSeconds, config),
  });
}

export function pubSubSettings(config: Config): PubSubSettings {
  const p = config.publish;
  return Object.freeze({
    projectId: required(p.projectId, 'CRASHMOVER_CRASHPUBLISH_PROJECT_ID', 'CRASHMOVER_CRASHPUBLISH_CLASS=pubsub'),
    topicName: required(p.topicName, 'CRASHMOVER_CRASHPUBLISH_TOPIC_NAME', 'CRASHMOVER_CRASHPUBLISH_CLASS=pubsub'),
    pubsubEmulatorHost: p.pubsubEmulatorHost,
    ...timeouts(p.timeoutSeconds, config),
  });
}

export function sqsSettings(config: Config): SqsSettings {
  const p = config.publish;
  return Object.freeze({
    queueName: required(p.queueName, 'CRASHMOVER_CRASHPUBLISH_QUEUE_NAME', 'CRASHMOVER_CRASHPUBLISH_CLASS=sqs'),
    region: p.region,
    endpointUrl: p.endpointUrl,
    accessKey: p.accessKey,
    secretAccessKey: p.secretAccessKey,
    ...timeouts(p.timeoutSeconds, config),
  });
}
