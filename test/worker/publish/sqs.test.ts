/**
 * The SQS publish backend, driving the real @aws-sdk/client-sqs against
 * fauxqs behind a fault-injecting proxy (test/support/fake-aws).
 */
import { loadConfig, sqsSettings } from '../../../src/shared/config';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { createSqsPublisher, describeSqsError, parseQueueUrl, regionFromQueueUrl, sqsClientConfig } from '../../../src/worker/publish/sqs';
import { freshFakeEachTest, kindOf, rejection, silentLogger } from '../../support/backend-unit';
import { FAKE_ACCESS_KEY, startFakeAws, type FakeAws } from '../../support/fake-aws';

// Never the machine's AWS configuration: no metadata server, no profile files.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const QUEUE = 'antenna-crash-ids';
const CRASH_IDS = ['de1bb258-cbbf-4589-a673-34f800160918', '0bba929f-8721-460c-dead-a43c20071027', 'e3f2c1a0-1b2c-4d5e-9f60-718293240101'];

const logger = silentLogger;

let fake: FakeAws;
/** Closes things after each test, before the fake stops. */
const closeAfterTest = freshFakeEachTest(startFakeAws, (f) => (fake = f));

function publisher(queue: string = QUEUE, extra: Record<string, string> = {}): CrashPublisher {
  const p = createSqsPublisher(sqsSettings(loadConfig(fake.publishEnv(queue, extra))), logger);
  closeAfterTest(() => p.close());
  return p;
}

const actions = () => fake.requests.map((r) => r.action);

describe('SQSCrashPublish', () => {
  test('is named SQSCrashPublish', () => {
    expect(publisher().name).toBe('SQSCrashPublish');
  });

  test('publish() by queue name delivers exactly the crash id, one message per call, no attributes; the URL is resolved once', async () => {
    const url = await fake.createQueue(QUEUE);
    const p = publisher(QUEUE);
    for (const id of CRASH_IDS) await p.publish(id);

    const received = await fake.receiveAll(url);
    expect(received.map((m) => m.body).sort()).toEqual([...CRASH_IDS].sort());
    expect(received.every((m) => m.attributes === undefined || Object.keys(m.attributes).length === 0)).toBe(true);
    expect(actions()).toEqual(['GetQueueUrl', 'SendMessage', 'SendMessage', 'SendMessage']);
  });

  test('publish() by queue URL uses the URL as is (no GetQueueUrl)', async () => {
    const url = await fake.createQueue(QUEUE);
    const p = publisher(url);
    await p.publish(CRASH_IDS[0]!);
    expect((await fake.receiveAll(url)).map((m) => m.body)).toEqual([CRASH_IDS[0]]);
    expect(actions()).toEqual(['SendMessage']);
  });

  test('verify() resolves the queue and sends "test"', async () => {
    const url = await fake.createQueue(QUEUE);
    await publisher().verify();
    expect((await fake.receiveAll(url)).map((m) => m.body)).toEqual(['test']);
    expect(actions()).toEqual(['GetQueueUrl', 'SendMessage']);
  });

  test('a missing queue (by name) fails verify() and publish() naming CRASHMOVER_CRASHPUBLISH_QUEUE_NAME', async () => {
    const p = publisher('no-such-queue');
    const { err } = await rejection(p.verify());
    expect(err.message).toContain('GetQueueUrl for queue no-such-queue failed: the queue does not exist');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'queue_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHPUBLISH_QUEUE_NAME');
    // A failed lookup is not cached: once the queue exists, publishing works.
    const url = await fake.createQueue('no-such-queue');
    await p.publish(CRASH_IDS[0]!);
    expect((await fake.receiveAll(url)).map((m) => m.body)).toEqual([CRASH_IDS[0]]);
  });

  test('a missing queue (by URL) fails publish() naming CRASHMOVER_CRASHPUBLISH_QUEUE_NAME', async () => {
    const url = await fake.createQueue(QUEUE);
    await fake.deleteQueue(url);
    const { err } = await rejection(publisher(url).publish(CRASH_IDS[0]!));
    expect(err.message).toContain(`SendMessage for queue ${url} failed: the queue does not exist`);
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'queue_missing' });
    expect(err.message).toContain('CRASHMOVER_CRASHPUBLISH_QUEUE_NAME');
  });

  test('checkHealth() passes for an existing queue, by name and by URL (GetQueueUrl)', async () => {
    const url = await fake.createQueue(QUEUE);
    await publisher(QUEUE).checkHealth();
    await publisher(url).checkHealth();
    expect(actions()).toEqual(['GetQueueUrl', 'GetQueueUrl']);
    expect(fake.requests.every((r) => r.status === 200)).toBe(true);
  });

  test('checkHealth() fails on a missing queue and on a 503', async () => {
    const { err: missing } = await rejection(publisher('no-such-queue').checkHealth());
    expect(missing.message).toContain('the queue does not exist');
    expect(kindOf(missing)).toEqual({ kind: 'configuration', reason: 'queue_missing' });
    expect(missing.message).toContain('CRASHMOVER_CRASHPUBLISH_QUEUE_NAME');

    await fake.createQueue(QUEUE);
    fake.failNext(1, { status: 503 });
    const { err: down } = await rejection(publisher().checkHealth());
    expect(down.message).toContain('unavailable');
    expect(down.message).toContain('ServiceUnavailable HTTP 503');
    expect(kindOf(down)).toEqual({ kind: 'transient', reason: 'unavailable' });
  });

  test('a 503 on SendMessage fails publish() after exactly one attempt (SDK retries off)', async () => {
    const url = await fake.createQueue(QUEUE);
    fake.failNext(1, { status: 503 });
    const p = publisher(url);
    const { err } = await rejection(p.publish(CRASH_IDS[0]!));
    expect(err.message).toContain('SendMessage');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unavailable' });
    expect(err.message).toContain('503');
    expect(fake.requests).toEqual([expect.objectContaining({ action: 'SendMessage', status: 503, injected: true })]);
    expect(await fake.receiveAll(url)).toEqual([]);
    // The crashmover's retry then succeeds.
    await p.publish(CRASH_IDS[0]!);
    expect((await fake.receiveAll(url)).map((m) => m.body)).toEqual([CRASH_IDS[0]]);
  });

  test('a 503 on GetQueueUrl fails publish() after one attempt; the next publish resolves again', async () => {
    const url = await fake.createQueue(QUEUE);
    fake.failNext(1, { status: 503 });
    const p = publisher(QUEUE);
    await rejection(p.publish(CRASH_IDS[0]!));
    expect(actions()).toEqual(['GetQueueUrl']);
    await p.publish(CRASH_IDS[1]!);
    expect(actions()).toEqual(['GetQueueUrl', 'GetQueueUrl', 'SendMessage']);
    expect((await fake.receiveAll(url)).map((m) => m.body)).toEqual([CRASH_IDS[1]]);
  });

  test('AccessDenied names the SQS permissions to grant', async () => {
    const url = await fake.createQueue(QUEUE);
    fake.failNext(1, { status: 403 });
    const { err } = await rejection(publisher(url).publish(CRASH_IDS[0]!));
    expect(err.message).toContain('access denied');
    expect(err.message).toContain('sqs:SendMessage');
    expect(err.message).toContain('sqs:GetQueueUrl');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'permission_denied' });
  });

  test('latency beyond CRASHMOVER_CRASHPUBLISH_TIMEOUT rejects in bounded time', async () => {
    const url = await fake.createQueue(QUEUE);
    fake.setLatency(20_000);
    const { err, ms } = await rejection(publisher(url, { CRASHMOVER_CRASHPUBLISH_TIMEOUT: '1' }).publish(CRASH_IDS[0]!));
    expect(err.message).toContain('within 1 s');
    expect(err.message).toContain('CRASHMOVER_CRASHPUBLISH_TIMEOUT');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    expect(ms).toBeLessThan(15_000);
  });

  test('a dropped connection rejects publish() without hanging', async () => {
    const url = await fake.createQueue(QUEUE);
    fake.dropNextConnections(1);
    const { err, ms } = await rejection(publisher(url, { CRASHMOVER_CRASHPUBLISH_TIMEOUT: '30' }).publish(CRASH_IDS[0]!));
    expect(err.message).toMatch(/cannot reach SQS at http:\/\/127\.0\.0\.1:\d+/);
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'unreachable' });
    expect(ms).toBeLessThan(15_000);
    expect(fake.requests.map((r) => r.status)).toEqual(['dropped']);
  });
});

describe('SQS client configuration', () => {
  const base = { CRASHMOVER_CRASHPUBLISH_CLASS: 'sqs', CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: QUEUE };

  test('one attempt, bounded time, explicit credentials only when both keys are set', () => {
    const withKeys = sqsClientConfig(
      sqsSettings(
        loadConfig({
          ...base,
          CRASHMOVER_CRASHPUBLISH_ACCESS_KEY: FAKE_ACCESS_KEY,
          CRASHMOVER_CRASHPUBLISH_SECRET_ACCESS_KEY: 's',
          CRASHMOVER_CRASHPUBLISH_TIMEOUT: '2.5',
        }),
      ),
      2500,
    );
    expect(withKeys.maxAttempts).toBe(1);
    expect(withKeys.requestHandler).toEqual(expect.objectContaining({ connectionTimeout: 2500, requestTimeout: 2500 }));
    expect(withKeys.credentials).toEqual({ accessKeyId: FAKE_ACCESS_KEY, secretAccessKey: 's' });
    const chain = sqsClientConfig(sqsSettings(loadConfig(base)), 5000);
    expect(chain.credentials).toBeUndefined();
    expect(chain.endpoint).toBeUndefined();
  });

  test('a queue URL supplies the region when none is configured', () => {
    const url = 'https://sqs.eu-central-1.amazonaws.com/123456789012/antenna-crash-ids';
    expect(regionFromQueueUrl(url)).toBe('eu-central-1');
    expect(regionFromQueueUrl('https://us-west-1.queue.amazonaws.com/123456789012/q')).toBe('us-west-1');
    expect(regionFromQueueUrl('http://127.0.0.1:4566/000000000000/q')).toBeUndefined();
    expect(parseQueueUrl(url)).toEqual({ name: 'antenna-crash-ids', account: '123456789012' });
    expect(sqsClientConfig(sqsSettings(loadConfig({ ...base, CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: url })), 5000).region).toBe('eu-central-1');
    expect(
      sqsClientConfig(sqsSettings(loadConfig({ ...base, CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: url, CRASHMOVER_CRASHPUBLISH_REGION: 'us-east-2' })), 5000).region,
    ).toBe('us-east-2');
  });
});

describe('error kinds (what start-up and the crashmover act on)', () => {
  const ctx = { action: 'SendMessage' as const, queue: QUEUE, endpoint: 'https://sqs.us-west-2.amazonaws.com', timeoutSeconds: 5 };
  const sdkError = (name: string, status?: number, message = '') =>
    Object.assign(new Error(message), { name, ...(status && { $metadata: { httpStatusCode: status } }) });
  test.each([
    [sdkError('InvalidClientTokenId', 403), 'configuration', 'bad_credentials'],
    [sdkError('UnrecognizedClientException', 400), 'configuration', 'bad_credentials'],
    [sdkError('KmsAccessDenied', 400), 'configuration', 'permission_denied'],
    [sdkError('CredentialsProviderError', undefined, 'Could not load credentials from any providers'), 'configuration', 'no_credentials'],
    [sdkError('Error', undefined, 'Region is missing'), 'configuration', 'no_region'],
    [sdkError('InvalidAddress', 400), 'configuration', 'rejected'],
    // SQS throttles with a 400.
    [sdkError('RequestThrottled', 400), 'transient', 'throttled'],
    [sdkError('ThrottlingException', 400), 'transient', 'throttled'],
    [sdkError('InternalFailure', 500), 'transient', 'unavailable'],
  ])('%o is %s (%s)', (err, kind, reason) => {
    expect(kindOf(describeSqsError(err, ctx))).toEqual({ kind, reason });
  });
});
