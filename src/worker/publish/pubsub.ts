import { PubSub, type ClientConfig } from '@google-cloud/pubsub';
import type { PubSubSettings } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import { KindedError, type FailureKind, type FailureReason } from '../../shared/failure';
import type { CrashPublisher } from './crash-publisher';

/** gRPC status codes (google.rpc.Code), by number, for messages. */
const CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** Extra margin for our own guard over the client's gRPC deadline (auth, channel set-up). */
const GUARD_MARGIN_MS = 1000;

interface GrpcErrorLike {
  code?: number | string;
  details?: string;
  message?: string;
}

/**
 * Client options: the configured project (never guessed from ADC or the
 * metadata server), and for an emulator an insecure channel with no
 * credentials at all. gRPC's own retries (transparent and service-config ones)
 * are off: the crashmover's retry is the only one.
 */
export function pubSubClientOptions(settings: { projectId?: string; pubsubEmulatorHost?: string }): ClientConfig {
  const { projectId, pubsubEmulatorHost } = settings;
  const options: ClientConfig = { projectId };
  if (pubsubEmulatorHost) {
    // emulatorMode → insecure channel credentials, so no auth is attempted; an
    // explicit universe domain keeps google-auth-library from looking for ADC
    // (or probing the GCE metadata server) just to learn it.
    Object.assign(options, { apiEndpoint: pubsubEmulatorHost, emulatorMode: true, universeDomain: 'googleapis.com' });
  }
  Object.assign(options, { 'grpc.enable_retries': 0 });
  return options;
}

/**
 * What a gRPC status means to start-up and the crashmover. A status not listed
 * (OK never fails a call) is transient.
 */
const CODE_FAILURES: Record<number, { kind: FailureKind; reason: FailureReason }> = {
  1: { kind: 'transient', reason: 'cancelled' },
  2: { kind: 'transient', reason: 'unknown' as FailureReason },
  3: { kind: 'configuration', reason: 'rejected' }, // INVALID_ARGUMENT: a malformed project or topic name
  4: { kind: 'transient', reason: 'timeout' },
  5: { kind: 'configuration', reason: 'topic_missing' },
  7: { kind: 'configuration', reason: 'permission_denied' },
  8: { kind: 'transient', reason: 'throttled' }, // RESOURCE_EXHAUSTED: quota or flow control
  9: { kind: 'configuration', reason: 'rejected' }, // FAILED_PRECONDITION
  10: { kind: 'transient', reason: 'unavailable' }, // ABORTED
  12: { kind: 'configuration', reason: 'rejected' }, // UNIMPLEMENTED: not a Pub/Sub endpoint
  13: { kind: 'transient', reason: 'unavailable' }, // INTERNAL
  14: { kind: 'transient', reason: 'unavailable' },
  15: { kind: 'transient', reason: 'unavailable' }, // DATA_LOSS
  16: { kind: 'configuration', reason: 'bad_credentials' },
};

/**
 * Turns a client error into one that names the cause and the fix, with the
 * kind start-up and the crashmover act on (from its gRPC status, see
 * CODE_FAILURES); `code` keeps the gRPC status.
 */
export function describePubSubError(
  err: unknown,
  ctx: { action: 'publish' | 'GetTopic'; topicPath: string; endpoint: string; timeoutSeconds: number },
): KindedError & { code?: number } {
  const e = (err ?? {}) as GrpcErrorLike;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const detail = e.details || e.message || String(err);
  const codeName = code !== undefined ? (CODE_NAMES[code] ?? String(code)) : undefined;
  const what = ctx.action === 'publish' ? `publish to ${ctx.topicPath}` : `GetTopic ${ctx.topicPath}`;
  const status = codeName ? `${codeName}: ${detail}` : detail;
  let failure = (code !== undefined && CODE_FAILURES[code]) || { kind: 'transient' as FailureKind, reason: 'unknown' as FailureReason };
  let msg: string;
  switch (code) {
    case 5: // NOT_FOUND
      msg =
        `topic ${ctx.topicPath} does not exist (${status}); ` +
        `create topic ${ctx.topicPath} or fix CRASHMOVER_CRASHPUBLISH_TOPIC_NAME (and CRASHMOVER_CRASHPUBLISH_PROJECT_ID)`;
      break;
    case 7: // PERMISSION_DENIED
      msg =
        ctx.action === 'publish'
          ? `${what} failed: permission denied (${status}); grant the collector's service account roles/pubsub.publisher on the topic ` +
            `(and roles/pubsub.viewer for the heartbeat's GetTopic)`
          : `${what} failed: permission denied (${status}); grant the collector's service account roles/pubsub.viewer on the topic ` +
            `(the heartbeat's GetTopic) in addition to roles/pubsub.publisher`;
      break;
    case 16: // UNAUTHENTICATED
      msg =
        `${what} failed: Pub/Sub rejected the credentials (${status}); provide Application Default Credentials ` +
        `(a service account on GCP, or GOOGLE_APPLICATION_CREDENTIALS), or set PUBSUB_EMULATOR_HOST for an emulator`;
      break;
    case 4: // DEADLINE_EXCEEDED
      msg =
        `${what} failed: no answer from Pub/Sub at ${ctx.endpoint} within CRASHMOVER_CRASHPUBLISH_TIMEOUT=${ctx.timeoutSeconds} s (${status}); ` +
        `check that Pub/Sub is reachable, or raise CRASHMOVER_CRASHPUBLISH_TIMEOUT`;
      break;
    case 14: // UNAVAILABLE
      msg =
        `${what} failed: Pub/Sub at ${ctx.endpoint} is unavailable (${status}); ` +
        `check the network${ctx.endpoint.endsWith('googleapis.com') ? '' : ' and PUBSUB_EMULATOR_HOST'}`;
      break;
    case 3: // INVALID_ARGUMENT
      msg = `${what} failed: Pub/Sub rejected the request (${status}); check CRASHMOVER_CRASHPUBLISH_PROJECT_ID and CRASHMOVER_CRASHPUBLISH_TOPIC_NAME`;
      break;
    case 8: // RESOURCE_EXHAUSTED
      msg = `${what} failed: Pub/Sub quota exhausted (${status}); raise the project's Pub/Sub quota or slow down`;
      break;
    default:
      // google-auth-library says so in prose only, with no gRPC status: there is no code to match.
      if (code === undefined && /default credentials|could not load|metadata/i.test(detail)) {
        failure = { kind: 'configuration', reason: 'no_credentials' };
        msg =
          `${what} failed: no Google Cloud credentials (${detail}); provide Application Default Credentials ` +
          `(GOOGLE_APPLICATION_CREDENTIALS or a service account on GCP), or set PUBSUB_EMULATOR_HOST for an emulator`;
      } else {
        msg = `Pub/Sub ${what} failed (${status})`;
      }
  }
  return Object.assign(new KindedError(failure.kind, failure.reason, msg, { cause: err }), { code });
}

/** Our own bound over a whole client call, in case something outside the gRPC deadline hangs. */
class GuardTimeout extends Error {
  readonly code = 4; // DEADLINE_EXCEEDED
  readonly details: string;
  constructor(ms: number) {
    super(`no result after ${ms / 1000} s`);
    this.details = this.message;
  }
}

/** Rejects with GuardTimeout when `promise` has not settled within `ms` (the client's own deadline should win). */
function guard<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GuardTimeout(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Publishes each crash id to a Pub/Sub topic as one message whose data is the
 * id's UTF-8 bytes (no attributes), sent at once (no batching delay), with one
 * attempt bounded by CRASHMOVER_CRASHPUBLISH_TIMEOUT.
 */
export function createPubSubPublisher(settings: PubSubSettings, logger: Logger): CrashPublisher {
  const { topicName, timeoutSeconds, timeoutMs, pubsubEmulatorHost } = settings;

  const client = new PubSub(pubSubClientOptions(settings));
  // Per call: the configured deadline, and the client's retries off (`retry: null`
  // replaces the generated Publish/GetTopic retry settings, so exactly one attempt).
  const gaxOpts = { timeout: timeoutMs, retry: null };
  const topic = client.topic(topicName, {
    batching: { maxMessages: 1, maxMilliseconds: 0 },
    gaxOpts,
  });
  const topicPath = topic.name;
  const endpoint = pubsubEmulatorHost ?? 'pubsub.googleapis.com';
  const ctx = { topicPath, endpoint, timeoutSeconds };

  if (pubsubEmulatorHost) {
    logger.debug(`PUBSUB_EMULATOR_HOST detected, publishing to the emulator at ${pubsubEmulatorHost}`);
  }
  logger.debug(`publishing crash ids to ${topicPath}`);

  async function publish(data: string): Promise<void> {
    try {
      await guard(topic.publishMessage({ data: Buffer.from(data, 'utf8') }), timeoutMs + GUARD_MARGIN_MS);
    } catch (err) {
      throw describePubSubError(err, { ...ctx, action: 'publish' });
    }
  }

  return {
    name: 'PubSubCrashPublish',
    publish: (crashId: string) => publish(crashId),
    verify: () => publish('test'),
    async checkHealth() {
      try {
        await guard(topic.getMetadata(gaxOpts), timeoutMs + GUARD_MARGIN_MS);
      } catch (err) {
        throw describePubSubError(err, { ...ctx, action: 'GetTopic' });
      }
    },
    async close() {
      await client.close();
    },
  };
}
