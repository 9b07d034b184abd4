import { GetQueueUrlCommand, SendMessageCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import type { SqsSettings } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import type { CrashPublisher } from './crash-publisher';
import { KindedError, type FailureKind, type FailureReason } from '../../shared/failure';
import { awsClientOptions, awsErrorFacts, credentialsFix, otherAwsFailure } from '../aws-client';

const isQueueUrl = (queue: string) => /^https?:\/\//i.test(queue);

/** The AWS region in a queue URL (`https://sqs.<region>.amazonaws.com/…` or the legacy `https://<region>.queue.amazonaws.com/…`). */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return undefined;
  }
  const m = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host) ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host);
  return m?.[1];
}

/** The queue name and owner account in a queue URL (`…/<account>/<name>`). */
export function parseQueueUrl(queueUrl: string): { name: string; account?: string } {
  const invalid = () =>
    new KindedError(
      'configuration',
      'setting_invalid',
      `CRASHMOVER_CRASHPUBLISH_QUEUE_NAME=${queueUrl} is not a queue URL (expected https://sqs.<region>.amazonaws.com/<account>/<queue name>) nor a queue name`,
    );
  let pathname: string;
  try {
    pathname = new URL(queueUrl).pathname;
  } catch {
    throw invalid();
  }
  const parts = pathname.split('/').filter(Boolean);
  const name = parts[parts.length - 1];
  if (!name) throw invalid();
  return { name: decodeURIComponent(name), account: parts.length >= 2 ? parts[parts.length - 2] : undefined };
}

/**
 * Client options: see awsClientOptions. With no region configured, a queue
 * URL's region wins over the SDK's own resolution.
 */
export function sqsClientConfig(
  settings: Pick<SqsSettings, 'region' | 'endpointUrl' | 'accessKey' | 'secretAccessKey'> & { queueName?: string },
  timeoutMs: number,
): SQSClientConfig {
  const { queueName, region } = settings;
  const urlRegion = queueName && isQueueUrl(queueName) ? regionFromQueueUrl(queueName) : undefined;
  return awsClientOptions({ ...settings, region: region ?? urlRegion }, timeoutMs);
}

export interface SqsErrorContext {
  action: 'SendMessage' | 'GetQueueUrl';
  queue: string;
  endpoint: string;
  timeoutSeconds: number;
  signal?: AbortSignal;
}

/** SQS's error codes come in several spellings (`QueueDoesNotExist`, `AWS.SimpleQueueService.NonExistentQueue`, `…Exception`): match on the code, never on the message. */
const QUEUE_MISSING = /QueueDoesNotExist|NonExistentQueue/;
const BAD_CREDENTIALS =
  /InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|InvalidSignature|IncompleteSignature|ExpiredToken|MissingAuthenticationToken/;
const ACCESS_DENIED = /AccessDenied|NotAuthorized|KmsAccessDenied/;
const THROTTLED = /Throttl|RequestThrottled|TooManyRequests|OverLimit/;

/**
 * Turns an SDK error into one that names the cause and the fix, with the kind
 * start-up and the crashmover act on: `configuration` for a missing queue,
 * denied access, missing or rejected credentials, no region; `transient` for
 * timeouts, throttling, 5xx and network errors.
 */
export function describeSqsError(err: unknown, ctx: SqsErrorContext): KindedError {
  const { name, code, status, message, detail, network, timedOut, noCredentials, noRegion } = awsErrorFacts(err, ctx.signal);
  const what = `${ctx.action} for queue ${ctx.queue}`;
  const codes = `${name} ${code}`;
  const kinded = (kind: FailureKind, reason: FailureReason, msg: string) => new KindedError(kind, reason, msg, { cause: err });
  if (QUEUE_MISSING.test(codes)) {
    return kinded(
      'configuration',
      'queue_missing',
      `${what} failed: the queue does not exist (${detail}); create the queue or fix CRASHMOVER_CRASHPUBLISH_QUEUE_NAME (and CRASHMOVER_CRASHPUBLISH_REGION)`,
    );
  }
  if (BAD_CREDENTIALS.test(codes)) {
    return kinded(
      'configuration',
      'bad_credentials',
      `${what} failed: SQS rejected the credentials (${detail}); ${credentialsFix.rejected('CRASHMOVER_CRASHPUBLISH')}`,
    );
  }
  if (ACCESS_DENIED.test(codes) || status === 403) {
    return kinded(
      'configuration',
      'permission_denied',
      `${what} failed: access denied (${detail}); grant the collector's IAM identity sqs:SendMessage and sqs:GetQueueUrl on the queue` +
        (/Kms/.test(codes) ? " (and kms:GenerateDataKey and kms:Decrypt on the queue's KMS key)" : ''),
    );
  }
  if (noCredentials) {
    return kinded(
      'configuration',
      'no_credentials',
      `${what} failed: no AWS credentials (${message || name}); ${credentialsFix.missing('CRASHMOVER_CRASHPUBLISH')}`,
    );
  }
  if (noRegion) {
    return kinded(
      'configuration',
      'no_region',
      `${what} failed: no AWS region (${message}); set CRASHMOVER_CRASHPUBLISH_REGION (or AWS_REGION) to the queue's region`,
    );
  }
  if (timedOut) {
    return kinded(
      'transient',
      'timeout',
      `${what} failed: no answer from SQS at ${ctx.endpoint} within ${ctx.timeoutSeconds} s (${detail}); ` +
        `check that it is reachable, or raise CRASHMOVER_CRASHPUBLISH_TIMEOUT`,
    );
  }
  if ((status !== undefined && status >= 500) || status === 429 || THROTTLED.test(codes)) {
    return kinded(
      'transient',
      status !== undefined && status >= 500 ? 'unavailable' : 'throttled',
      `${what} failed: SQS at ${ctx.endpoint} is unavailable (${detail}); usually transient (the crashmover retries), check the service if it persists`,
    );
  }
  if (network || /^E[A-Z_]+$/.test(code)) {
    return kinded(
      'transient',
      'unreachable',
      `${what} failed: cannot reach SQS at ${ctx.endpoint} (${detail}); check the network${ctx.endpoint.includes('amazonaws.com') ? '' : ' and CRASHMOVER_CRASHPUBLISH_ENDPOINT_URL'}`,
    );
  }
  if (name === 'AbortError') return kinded('transient', 'aborted', `${what} failed: the request to SQS at ${ctx.endpoint} was aborted (${detail})`);
  const { kind, reason } = otherAwsFailure(code, status);
  return kinded(kind, reason, `SQS ${what} failed (${detail})`);
}

/**
 * Publishes each crash id to an SQS queue as one message whose body is the id
 * (nothing else), one attempt bounded by CRASHMOVER_CRASHPUBLISH_TIMEOUT. A
 * queue name is resolved to its URL once (GetQueueUrl) and cached.
 */
export function createSqsPublisher(settings: SqsSettings, logger: Logger): CrashPublisher {
  const { queueName, timeoutSeconds, timeoutMs, healthTimeoutMs, endpointUrl } = settings;
  const byUrl = isQueueUrl(queueName);
  // For the heartbeat's GetQueueUrl, which takes a name (and the owner's account).
  const named = byUrl ? parseQueueUrl(queueName) : { name: queueName, account: undefined };

  const clientConfig = sqsClientConfig(settings, timeoutMs);
  const client = new SQSClient(clientConfig);
  const health = new SQSClient(sqsClientConfig(settings, healthTimeoutMs));
  const endpoint =
    endpointUrl ??
    (byUrl ? new URL(queueName).origin : `https://sqs.${typeof clientConfig.region === 'string' ? clientConfig.region : '<SDK region>'}.amazonaws.com`);
  if (endpointUrl) logger.debug(`sqs publish: using endpoint ${endpointUrl}`);
  logger.debug(`sqs publish: publishing crash ids to ${queueName}`);

  /** The resolved queue URL, or the pending lookup shared by concurrent callers (dropped on failure). */
  let queueUrl: Promise<string> | undefined = byUrl ? Promise.resolve(queueName) : undefined;

  function resolveQueueUrl(signal: AbortSignal): Promise<string> {
    if (!queueUrl) {
      const lookup = client
        .send(new GetQueueUrlCommand({ QueueName: queueName }), { abortSignal: signal })
        .then((out) => {
          if (!out.QueueUrl) throw new Error(`GetQueueUrl for ${queueName} returned no QueueUrl`);
          logger.debug(`sqs publish: queue ${queueName} is ${out.QueueUrl}`);
          return out.QueueUrl;
        })
        .catch((err: unknown) => {
          if (queueUrl === lookup) queueUrl = undefined;
          throw describeSqsError(err, { action: 'GetQueueUrl', queue: queueName, endpoint, timeoutSeconds, signal });
        });
      queueUrl = lookup;
    }
    return queueUrl;
  }

  async function send(body: string): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    const url = await resolveQueueUrl(signal);
    try {
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }), { abortSignal: signal });
    } catch (err) {
      throw describeSqsError(err, { action: 'SendMessage', queue: url, endpoint, timeoutSeconds, signal });
    }
  }

  return {
    name: 'SQSCrashPublish',
    publish: (crashId: string) => send(crashId),
    verify: () => send('test'),
    async checkHealth() {
      const signal = AbortSignal.timeout(healthTimeoutMs);
      const input = named.account ? { QueueName: named.name, QueueOwnerAWSAccountId: named.account } : { QueueName: named.name };
      try {
        await health.send(new GetQueueUrlCommand(input), { abortSignal: signal });
      } catch (err) {
        throw describeSqsError(err, { action: 'GetQueueUrl', queue: queueName, endpoint, timeoutSeconds: healthTimeoutMs / 1000, signal });
      }
    },
    async close() {
      client.destroy();
      health.destroy();
    },
  };
}
