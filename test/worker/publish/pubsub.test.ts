/**
 * The Pub/Sub publish backend, driving the real @google-cloud/pubsub client
 * over gRPC against an in-process fake Pub/Sub server (test/support/fake-pubsub).
 */
import * as grpc from '@grpc/grpc-js';
import { PubSub, v1, type Message } from '@google-cloud/pubsub';
import { loadConfig, pubSubSettings } from '../../../src/shared/config';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { createPubSubPublisher, describePubSubError } from '../../../src/worker/publish/pubsub';
import { freshFakeEachTest, kindOf, silentLogger } from '../../support/backend-unit';
import { waitFor as waitUntil } from '../../support/wait';
import { startFakePubSub, type FakePubSub } from '../../support/fake-pubsub';

// No credentials, no GCE metadata server probing: the fake is an emulator.
process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'test-project';
const TOPIC = 'crash-ids';
const TOPIC_PATH = `projects/${PROJECT}/topics/${TOPIC}`;

const logger = silentLogger;

let fake: FakePubSub;
/** Closes things after each test, before the fake stops. */
const closeAfterTest = freshFakeEachTest(startFakePubSub, (f) => (fake = f));

function publisher(env: Record<string, string> = {}): CrashPublisher {
  const config = loadConfig({
    CRASHMOVER_CRASHPUBLISH_CLASS: 'pubsub',
    CRASHMOVER_CRASHPUBLISH_PROJECT_ID: PROJECT,
    CRASHMOVER_CRASHPUBLISH_TOPIC_NAME: TOPIC,
    PUBSUB_EMULATOR_HOST: fake.host,
    ...env,
  });
  const p = createPubSubPublisher(pubSubSettings(config), logger);
  closeAfterTest(() => p.close());
  return p;
}

/** A separate real client, as a processor would use, talking to the fake. */
function consumerClient(): PubSub {
  const client = new PubSub({ projectId: PROJECT, apiEndpoint: fake.host, emulatorMode: true });
  closeAfterTest(() => client.close());
  return client;
}

const waitFor = (cond: () => boolean, ms = 10_000) => waitUntil('the condition', cond, ms, 20);

const CRASH_IDS = ['de1bb258-cbbf-4589-a673-34f800160918', '0bba929f-8721-460c-dead-a43c20071027', 'e3f2c1a0-1b2c-4d5e-9f60-718293240101'];

describe('PubSubCrashPublish', () => {
  test('is named PubSubCrashPublish', () => {
    fake.createTopic(PROJECT, TOPIC);
    expect(publisher().name).toBe('PubSubCrashPublish');
  });

  test('publish() sends exactly the crash id bytes, one message per call, no attributes', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    for (const id of CRASH_IDS) await p.publish(id);

    expect(fake.messages(PROJECT, TOPIC).map((b) => b.toString('utf8'))).toEqual(CRASH_IDS);
    for (const [i, m] of fake.published(PROJECT, TOPIC).entries()) {
      expect(m.data.equals(Buffer.from(CRASH_IDS[i]!, 'utf8'))).toBe(true);
      expect(m.attributes).toEqual({});
      expect(m.orderingKey).toBe('');
    }
    const publishes = fake.calls.filter((c) => c.method === 'Publish');
    expect(publishes).toHaveLength(3);
    for (const call of publishes) {
      const req = call.request as { topic: string; messages: unknown[] };
      expect(req.topic).toBe(TOPIC_PATH); // the configured project, always
      expect(req.messages).toHaveLength(1);
    }
    // Emulator: an insecure channel and no credentials.
    expect(publishes.every((c) => c.authorization === undefined)).toBe(true);
  });

  test('publishes concurrent calls as separate messages', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    await Promise.all(CRASH_IDS.map((id) => p.publish(id)));
    expect(fake.messages(PROJECT, TOPIC).map(String).sort()).toEqual([...CRASH_IDS].sort());
    expect(fake.calls.filter((c) => c.method === 'Publish').map((c) => (c.request as { messages: unknown[] }).messages.length)).toEqual([1, 1, 1]);
  });

  test('verify() publishes "test"', async () => {
    fake.createTopic(PROJECT, TOPIC);
    await publisher().verify();
    expect(fake.messages(PROJECT, TOPIC).map(String)).toEqual(['test']);
  });

  test('verify() with a missing topic fails naming the topic and CRASHMOVER_CRASHPUBLISH_TOPIC_NAME', async () => {
    const err = await publisher()
      .verify()
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(`create topic ${TOPIC_PATH}`);
    expect(err!.message).toContain('CRASHMOVER_CRASHPUBLISH_TOPIC_NAME');
    expect(err!.message).toContain('NOT_FOUND');
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'topic_missing' });
  });

  test('checkHealth() succeeds with a GetTopic when the topic exists', async () => {
    fake.createTopic(PROJECT, TOPIC);
    await publisher().checkHealth();
    const gets = fake.calls.filter((c) => c.method === 'GetTopic');
    expect(gets).toHaveLength(1);
    expect((gets[0]!.request as { topic: string }).topic).toBe(TOPIC_PATH);
    expect(fake.messages(PROJECT, TOPIC)).toHaveLength(0); // a probe publishes nothing
  });

  test('checkHealth() fails when the topic is missing', async () => {
    const p = publisher();
    await expect(p.checkHealth()).rejects.toThrow(
      /does not exist.*create topic projects\/test-project\/topics\/crash-ids or fix CRASHMOVER_CRASHPUBLISH_TOPIC_NAME/,
    );
    await expect(p.checkHealth()).rejects.toMatchObject({ kind: 'configuration', reason: 'topic_missing' });
  });

  test('checkHealth() fails on UNAVAILABLE, with one attempt', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.faults.failNext(1, { method: 'GetTopic' });
    const p = publisher();
    await expect(p.checkHealth()).rejects.toThrow(/unavailable.*UNAVAILABLE.*PUBSUB_EMULATOR_HOST/);
    fake.faults.failNext(1, { method: 'GetTopic' });
    await expect(p.checkHealth()).rejects.toMatchObject({ kind: 'transient', reason: 'unavailable' });
    expect(fake.callCount('GetTopic')).toBe(2);
    await p.checkHealth(); // the faults were one call each
  });

  test('one UNAVAILABLE fault: publish() rejects and the server saw exactly one Publish (client retries off)', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.faults.failNext(1, { method: 'Publish' });
    const p = publisher();
    await expect(p.publish(CRASH_IDS[0]!)).rejects.toThrow(/UNAVAILABLE/);
    // Give a would-be client retry time to show up.
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.callCount('Publish')).toBe(1);
    expect(fake.messages(PROJECT, TOPIC)).toHaveLength(0);

    // The crashmover's retry is the one that succeeds.
    await p.publish(CRASH_IDS[0]!);
    expect(fake.callCount('Publish')).toBe(2);
    expect(fake.messages(PROJECT, TOPIC).map(String)).toEqual([CRASH_IDS[0]]);
  });

  test('other retryable codes are not retried by the client either', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    for (const code of [grpc.status.DEADLINE_EXCEEDED, grpc.status.ABORTED, grpc.status.INTERNAL, grpc.status.UNKNOWN]) {
      fake.faults.failNext(1, { method: 'Publish', code });
      const err = await p.publish('x').then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain(grpc.status[code]);
      expect(kindOf(err).kind).toBe('transient');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.callCount('Publish')).toBe(4);
  });

  test('PERMISSION_DENIED names the roles to grant', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    fake.faults.failNext(1, { method: 'Publish', code: grpc.status.PERMISSION_DENIED, details: 'User not authorized to perform this action.' });
    const err = await p.publish('x').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/roles\/pubsub\.publisher.*roles\/pubsub\.viewer/);
    expect(kindOf(err)).toEqual({ kind: 'configuration', reason: 'permission_denied' });
    fake.faults.failNext(1, { method: 'GetTopic', code: grpc.status.PERMISSION_DENIED, details: 'User not authorized to perform this action.' });
    await expect(p.checkHealth()).rejects.toThrow(/roles\/pubsub\.viewer/);
  });

  test('latency beyond CRASHMOVER_CRASHPUBLISH_TIMEOUT: publish() rejects in bounded time', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher({ CRASHMOVER_CRASHPUBLISH_TIMEOUT: '1' });
    await p.checkHealth(); // connect first, so only the deadline is measured
    fake.faults.setLatency(8000, { method: 'Publish' });
    const started = Date.now();
    const err = await p.publish(CRASH_IDS[0]!).then(
      () => undefined,
      (e: Error) => e,
    );
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('CRASHMOVER_CRASHPUBLISH_TIMEOUT=1');
    expect(err!.message).toContain('DEADLINE_EXCEEDED');
    expect(kindOf(err)).toEqual({ kind: 'transient', reason: 'timeout' });
    expect(elapsed).toBeLessThan(6000); // well under the fake's 8 s latency; not a tight bound
    expect(fake.callCount('Publish')).toBe(1);
  });

  test('latency beyond the timeout bounds checkHealth() too', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.faults.setLatency(8000, { method: 'GetTopic' });
    const started = Date.now();
    await expect(publisher({ CRASHMOVER_CRASHPUBLISH_TIMEOUT: '1' }).checkHealth()).rejects.toThrow(/DEADLINE_EXCEEDED/);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  test('a dropped connection fails the publish once; the next publish reconnects', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    await p.publish(CRASH_IDS[0]!);
    fake.faults.dropNext(1, { method: 'Publish' });
    const err = await p.publish(CRASH_IDS[1]!).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/Pub\/Sub/);
    expect(kindOf(err).kind).toBe('transient');
    expect(fake.calls.filter((c) => c.method === 'Publish').map((c) => c.outcome)).toEqual([grpc.status.OK, 'dropped']);
    await p.publish(CRASH_IDS[2]!);
    expect(fake.messages(PROJECT, TOPIC).map(String)).toEqual([CRASH_IDS[0], CRASH_IDS[2]]);
  });

  test('nothing listening: publish() rejects naming the endpoint', async () => {
    const host = fake.host;
    await fake.stop();
    const p = publisher({ PUBSUB_EMULATOR_HOST: host, CRASHMOVER_CRASHPUBLISH_TIMEOUT: '2' });
    const err = await p.publish('x').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`${host.replace(/\./g, '\\.')}`));
    expect(kindOf(err).kind).toBe('transient');
  });

  test('close() closes the client', async () => {
    fake.createTopic(PROJECT, TOPIC);
    const p = publisher();
    await p.publish('x');
    await p.close();
    await expect(p.publish('y')).rejects.toThrow(/closed/);
    expect(fake.messages(PROJECT, TOPIC).map(String)).toEqual(['x']);
  });
});

describe('consuming from the fake with the real client', () => {
  test("subscription.on('message') receives the published crash ids", async () => {
    fake.createTopic(PROJECT, TOPIC);
    const consumer = consumerClient();
    const [subscription] = await consumer.topic(TOPIC).createSubscription('processor');
    closeAfterTest(() => subscription.close());

    const received: Message[] = [];
    subscription.on('message', (m: Message) => {
      received.push(m);
      m.ack();
    });
    const errors: Error[] = [];
    subscription.on('error', (err: Error) => errors.push(err));

    const p = publisher();
    for (const id of CRASH_IDS) await p.publish(id);

    await waitFor(() => received.length >= CRASH_IDS.length);
    expect(received.map((m) => m.data.toString('utf8')).sort()).toEqual([...CRASH_IDS].sort());
    expect(received.every((m) => Object.keys(m.attributes).length === 0)).toBe(true);
    expect(fake.callCount('StreamingPull')).toBeGreaterThan(0);
    await waitFor(() => fake.unacked(PROJECT, 'processor').length === 0);
    expect(errors).toEqual([]);
  });

  test('the subscriber recovers from a StreamingPull UNAVAILABLE and still receives', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.createSubscription(PROJECT, 'processor', PROJECT, TOPIC);
    fake.faults.failNext(1, { method: 'StreamingPull' });
    const subscription = consumerClient().subscription('processor', { streamingOptions: { maxStreams: 1 } });
    closeAfterTest(() => subscription.close());
    const received: string[] = [];
    const errors: Error[] = [];
    subscription.on('message', (m: Message) => {
      received.push(m.data.toString());
      m.ack();
    });
    subscription.on('error', (err: Error) => errors.push(err));
    await waitFor(() => fake.calls.some((c) => c.method === 'StreamingPull' && c.outcome === undefined));
    await publisher().publish(CRASH_IDS[0]!);
    await waitFor(() => received.length === 1);
    expect(received).toEqual([CRASH_IDS[0]]);
    expect(fake.calls.filter((c) => c.method === 'StreamingPull')[0]!.outcome).toBe(grpc.status.UNAVAILABLE);
    expect(errors).toEqual([]);
  });

  test('a missing subscription ends the stream with NOT_FOUND', async () => {
    const subscription = consumerClient().subscription('nope', { streamingOptions: { maxStreams: 1 } });
    closeAfterTest(() => subscription.close());
    const error = new Promise<Error & { code?: number }>((resolve) => subscription.on('error', resolve));
    subscription.on('message', () => {});
    await expect(error).resolves.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('v1 SubscriberClient pull + acknowledge receives the published crash ids', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.createSubscription(PROJECT, 'puller', PROJECT, TOPIC);
    const p = publisher();
    for (const id of CRASH_IDS) await p.publish(id);

    const [host, port] = fake.host.split(':');
    const sub = new v1.SubscriberClient({ servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(), projectId: PROJECT });
    closeAfterTest(() => sub.close());
    const subscription = `projects/${PROJECT}/subscriptions/puller`;

    const got: string[] = [];
    const ackIds: string[] = [];
    const until = Date.now() + 10_000;
    while (got.length < CRASH_IDS.length && Date.now() < until) {
      const [resp] = await sub.pull({ subscription, maxMessages: 10 });
      for (const rm of resp.receivedMessages ?? []) {
        got.push(Buffer.from(rm.message!.data as Uint8Array).toString('utf8'));
        ackIds.push(rm.ackId!);
      }
    }
    expect(got).toEqual(CRASH_IDS);
    expect(fake.unacked(PROJECT, 'puller')).toHaveLength(3);
    await sub.acknowledge({ subscription, ackIds });
    expect(fake.unacked(PROJECT, 'puller')).toHaveLength(0);
  });

  test('a nacked message is delivered again', async () => {
    fake.createTopic(PROJECT, TOPIC);
    fake.createSubscription(PROJECT, 'puller', PROJECT, TOPIC);
    await publisher().publish(CRASH_IDS[0]!);
    const [host, port] = fake.host.split(':');
    const sub = new v1.SubscriberClient({ servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(), projectId: PROJECT });
    closeAfterTest(() => sub.close());
    const subscription = `projects/${PROJECT}/subscriptions/puller`;
    const [first] = await sub.pull({ subscription, maxMessages: 1 });
    await sub.modifyAckDeadline({ subscription, ackIds: [first.receivedMessages![0]!.ackId!], ackDeadlineSeconds: 0 });
    const [second] = await sub.pull({ subscription, maxMessages: 1 });
    expect(Buffer.from(second.receivedMessages![0]!.message!.data as Uint8Array).toString()).toBe(CRASH_IDS[0]);
    expect(second.receivedMessages![0]!.ackId).not.toBe(first.receivedMessages![0]!.ackId);
  });

  test('RPCs the fake does not implement answer UNIMPLEMENTED', async () => {
    const consumer = consumerClient();
    await expect(consumer.getTopics({ gaxOpts: { retry: null } })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    expect(fake.calls.at(-1)).toMatchObject({ method: 'ListTopics', outcome: grpc.status.UNIMPLEMENTED });
  });
});

describe('error kinds (what start-up and the crashmover act on)', () => {
  const ctx = { action: 'publish' as const, topicPath: TOPIC_PATH, endpoint: 'pubsub.googleapis.com', timeoutSeconds: 5 };
  test.each([
    [{ code: grpc.status.UNAUTHENTICATED, details: 'Request had invalid authentication credentials.' }, 'configuration', 'bad_credentials'],
    [{ code: grpc.status.INVALID_ARGUMENT, details: 'Invalid resource name' }, 'configuration', 'rejected'],
    [new Error('Could not load the default credentials.'), 'configuration', 'no_credentials'],
    [{ code: grpc.status.RESOURCE_EXHAUSTED, details: 'quota exceeded' }, 'transient', 'throttled'],
    [{ code: grpc.status.INTERNAL, details: 'internal error' }, 'transient', 'unavailable'],
    [new TypeError('something unexpected'), 'transient', 'unknown'],
  ])('%o is %s (%s)', (err, kind, reason) => {
    expect(kindOf(describePubSubError(err, ctx))).toEqual({ kind, reason });
  });
});
