/* eslint-disable @typescript-eslint/no-explicit-any -- gRPC handlers of a service loaded from .proto files at run time: their message types are not known to TypeScript. */
/**
 * An in-process Google Pub/Sub server for tests that speaks the real gRPC wire
 * protocol (@grpc/grpc-js, insecure, on 127.0.0.1, a free port). It loads the
 * `google.pubsub.v1` protos shipped inside @google-cloud/pubsub, so the real
 * client runs unmodified against it (point PUBSUB_EMULATOR_HOST at `host`).
 *
 * Publisher: CreateTopic, GetTopic, DeleteTopic, Publish. Subscriber:
 * CreateSubscription, GetSubscription, DeleteSubscription, Pull, Acknowledge,
 * ModifyAckDeadline and StreamingPull (enough for `subscription.on('message')`).
 * Every other RPC answers UNIMPLEMENTED. Faults are injected on demand: failing
 * the next calls with a status, latency, and dropped connections.
 *
 * Clients reach the gRPC server through a small TCP relay in front of it, so a
 * "dropped connection" is a real one: the relay destroys the client's sockets.
 */
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface FakePubSubOptions {
  /** Topics to create up front, as `projects/P/topics/T`. */
  topics?: string[];
  /** How long a Pull with no message waits for one before answering empty (ms). Default 1000. */
  pullWaitMs?: number;
}

/** A published message as the fake stored it. */
export interface FakePubSubMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
  messageId: string;
  publishTime: Date;
}

export interface FakePubSubCall {
  /** RPC name as in the proto, e.g. `Publish`, `GetTopic`, `StreamingPull`. */
  method: string;
  /** The (first) request message. */
  request: unknown;
  /** Outcome: a gRPC status code, `dropped`, or undefined while still running. */
  outcome?: grpc.status | 'dropped';
  /** The `authorization` metadata, if the client sent any. */
  authorization?: string;
}

export interface FakeFaultOptions {
  /** Only calls of this RPC (e.g. `Publish`); default: any. */
  method?: string;
  /** Status to answer with; default UNAVAILABLE. */
  code?: grpc.status;
  details?: string;
}

export interface FakePubSubFaults {
  /** Answers the next `n` matching calls with a status (default UNAVAILABLE). */
  failNext(n: number, opts?: FakeFaultOptions): void;
  /** Delays every matching call by `ms` before handling it (0 clears). */
  setLatency(ms: number, opts?: { method?: string }): void;
  /** For the next `n` matching calls, destroys the client's connection instead of answering. */
  dropNext(n: number, opts?: { method?: string }): void;
  /** Removes every fault. */
  clear(): void;
}

export interface FakePubSub {
  /** `127.0.0.1:PORT`, for PUBSUB_EMULATOR_HOST. */
  host: string;
  port: number;
  faults: FakePubSubFaults;
  /** Every call received, in order of arrival. */
  calls: FakePubSubCall[];
  /** Number of calls received for an RPC. */
  callCount(method: string): number;
  createTopic(project: string, topic: string): void;
  deleteTopic(project: string, topic: string): void;
  createSubscription(project: string, subscription: string, topicProject: string, topic: string, ackDeadlineSeconds?: number): void;
  /** The payload of every message published to the topic, in order. */
  messages(project: string, topic: string): Buffer[];
  /** Every message published to the topic, with its attributes and id. */
  published(project: string, topic: string): FakePubSubMessage[];
  /** Messages of a subscription not acknowledged yet (waiting or leased). */
  unacked(project: string, subscription: string): FakePubSubMessage[];
  stop(): Promise<void>;
}

// --- protos ---------------------------------------------------------------

function protoDirs(): { pubsub: string; gax: string } {
  // Both packages restrict `package.json` via "exports"; their entry points are in build/src.
  const pubsub = path.join(path.dirname(require.resolve('@google-cloud/pubsub')), '..', 'protos');
  const gax = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
  return { pubsub, gax };
}

interface PubSubServices {
  Publisher: grpc.ServiceDefinition;
  Subscriber: grpc.ServiceDefinition;
}

let cachedServices: PubSubServices | undefined;

function loadServices(): PubSubServices {
  if (cachedServices) return cachedServices;
  const dirs = protoDirs();
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: [dirs.pubsub, dirs.gax],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const service = (name: string) => {
    const def = definition[`google.pubsub.v1.${name}`];
    if (!def) throw new Error(`google.pubsub.v1.${name} is missing from the protos`);
    return def as grpc.ServiceDefinition;
  };
  cachedServices = { Publisher: service('Publisher'), Subscriber: service('Subscriber') };
  return cachedServices;
}

// --- model ------------------------------------------------------------------

const TOPIC_RE = /^projects\/([^/]+)\/topics\/([^/]+)$/;
const SUBSCRIPTION_RE = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/;

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

interface Lease {
  message: FakePubSubMessage;
  ackId: string;
  /** Epoch ms after which the message is delivered again. */
  deadline: number;
}

interface StreamState {
  call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>;
  ackDeadlineSeconds: number;
  open: boolean;
}

interface SubscriptionState {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  /** Waiting to be delivered. */
  backlog: FakePubSubMessage[];
  /** Delivered, neither acknowledged nor expired. */
  leases: Map<string, Lease>;
  streams: Set<StreamState>;
  /** Pulls waiting for a message. */
  waiters: Set<() => void>;
  nextStream: number;
}

interface TopicState {
  name: string;
  labels: Record<string, string>;
  messages: FakePubSubMessage[];
}

interface PublishRequest {
  topic: string;
  messages: Array<{ data?: Buffer; attributes?: Record<string, string>; orderingKey?: string }>;
}
interface PullRequest {
  subscription: string;
  maxMessages: number;
  returnImmediately?: boolean;
}
interface StreamingPullRequest {
  subscription?: string;
  ackIds?: string[];
  modifyDeadlineSeconds?: number[];
  modifyDeadlineAckIds?: string[];
  streamAckDeadlineSeconds?: number;
}

interface FaultRule {
  kind: 'fail' | 'drop';
  remaining: number;
  method?: string;
  code: grpc.status;
  details?: string;
}

function authorizationOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return value === undefined ? undefined : String(value);
}

function timestamp(d: Date): { seconds: string; nanos: number } {
  const ms = d.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function topicProto(t: TopicState) {
  return { name: t.name, labels: t.labels };
}

function subscriptionProto(s: SubscriptionState) {
  return { name: s.name, topic: s.topic, ackDeadlineSeconds: s.ackDeadlineSeconds, labels: {}, state: 'ACTIVE' };
}

export async function startFakePubSub(options: FakePubSubOptions = {}): Promise<FakePubSub> {
  const services = loadServices();
  const pullWaitMs = options.pullWaitMs ?? 1000;

  const topics = new Map<string, TopicState>();
  const subscriptions = new Map<string, SubscriptionState>();
  const calls: FakePubSubCall[] = [];
  let faultRules: FaultRule[] = [];
  let latency: { ms: number; method?: string } = { ms: 0 };
  let messageSeq = 0;
  let ackSeq = 0;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  function later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  }

  // --- state helpers ---

  function topicOrThrow(name: string): TopicState {
    if (!TOPIC_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    const t = topics.get(name);
    if (!t) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/')[3]}).`);
    return t;
  }

  function subscriptionOrThrow(name: string): SubscriptionState {
    if (!SUBSCRIPTION_RE.test(name ?? '')) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`);
    const s = subscriptions.get(name);
    if (!s) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/')[3]}).`);
    return s;
  }

  function addTopic(name: string): TopicState {
    if (!TOPIC_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    if (topics.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/')[3]}).`);
    const t: TopicState = { name, labels: {}, messages: [] };
    topics.set(name, t);
    return t;
  }

  function addSubscription(name: string, topic: string, ackDeadlineSeconds: number): SubscriptionState {
    if (!SUBSCRIPTION_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`);
    topicOrThrow(topic);
    if (subscriptions.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/')[3]}).`);
    const s: SubscriptionState = {
      name,
      topic,
      ackDeadlineSeconds: ackDeadlineSeconds > 0 ? ackDeadlineSeconds : 10,
      backlog: [],
      leases: new Map(),
      streams: new Set(),
      waiters: new Set(),
      nextStream: 0,
    };
    subscriptions.set(name, s);
    return s;
  }

  function lease(s: SubscriptionState, message: FakePubSubMessage, deadlineSeconds: number) {
    const ackId = `${s.name.split('/')[3]}-${++ackSeq}`;
    const l: Lease = { message, ackId, deadline: Date.now() + deadlineSeconds * 1000 };
    s.leases.set(ackId, l);
    return {
      ackId,
      message: {
        data: message.data,
        attributes: message.attributes,
        messageId: message.messageId,
        publishTime: timestamp(message.publishTime),
        orderingKey: message.orderingKey,
      },
      deliveryAttempt: 0,
    };
  }

  /** Moves expired leases back to the backlog. */
  function expireLeases(s: SubscriptionState) {
    const now = Date.now();
    for (const [ackId, l] of s.leases) {
      if (l.deadline <= now) {
        s.leases.delete(ackId);
        s.backlog.push(l.message);
      }
    }
  }

  /** Hands waiting messages to open StreamingPull streams (round robin) and wakes pulls. */
  function dispatch(s: SubscriptionState) {
    expireLeases(s);
    const streams = [...s.streams].filter((st) => st.open);
    if (streams.length > 0) {
      while (s.backlog.length > 0) {
        const st = streams[s.nextStream++ % streams.length]!;
        const msg = s.backlog.shift()!;
        st.call.write({ receivedMessages: [lease(s, msg, st.ackDeadlineSeconds)] });
      }
    }
    if (s.backlog.length > 0) for (const wake of [...s.waiters]) wake();
  }

  function ack(s: SubscriptionState, ackIds: string[]) {
    for (const id of ackIds) s.leases.delete(id);
  }

  function modifyDeadline(s: SubscriptionState, ackIds: string[], seconds: number) {
    for (const id of ackIds) {
      const l = s.leases.get(id);
      if (!l) continue;
      if (seconds <= 0) {
        s.leases.delete(id);
        s.backlog.push(l.message);
      } else {
        l.deadline = Date.now() + seconds * 1000;
      }
    }
    if (seconds <= 0) dispatch(s);
  }

  // Redelivers messages whose lease expired.
  const sweeper = setInterval(() => {
    for (const s of subscriptions.values()) if (s.leases.size > 0) dispatch(s);
  }, 250);
  sweeper.unref();

  // --- RPC implementations ---

  type Unary = (request: any, call: grpc.ServerUnaryCall<any, any>) => unknown | Promise<unknown>;

  const unary: Record<string, Unary> = {
    CreateTopic(req: { name: string; labels?: Record<string, string> }) {
      const t = addTopic(req.name);
      t.labels = req.labels ?? {};
      return topicProto(t);
    },
    GetTopic(req: { topic: string }) {
      return topicProto(topicOrThrow(req.topic));
    },
    DeleteTopic(req: { topic: string }) {
      topicOrThrow(req.topic);
      topics.delete(req.topic);
      return {};
    },
    Publish(req: PublishRequest) {
      const t = topicOrThrow(req.topic);
      if (!req.messages || req.messages.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The request contains no messages.');
      for (const m of req.messages) {
        if ((!m.data || m.data.length === 0) && Object.keys(m.attributes ?? {}).length === 0) {
          throw new RpcError(
            grpc.status.INVALID_ARGUMENT,
            'One or more messages in the publish request is empty. Each message must contain either non-empty data, or at least one attribute.',
          );
        }
      }
      const ids: string[] = [];
      const publishTime = new Date();
      for (const m of req.messages) {
        const stored: FakePubSubMessage = {
          data: Buffer.from(m.data ?? Buffer.alloc(0)),
          attributes: { ...(m.attributes ?? {}) },
          orderingKey: m.orderingKey ?? '',
          messageId: String(++messageSeq),
          publishTime,
        };
        t.messages.push(stored);
        ids.push(stored.messageId);
        for (const s of subscriptions.values()) if (s.topic === t.name) s.backlog.push(stored);
      }
      for (const s of subscriptions.values()) if (s.topic === t.name) dispatch(s);
      return { messageIds: ids };
    },
    CreateSubscription(req: { name: string; topic: string; ackDeadlineSeconds?: number }) {
      return subscriptionProto(addSubscription(req.name, req.topic, req.ackDeadlineSeconds ?? 0));
    },
    GetSubscription(req: { subscription: string }) {
      return subscriptionProto(subscriptionOrThrow(req.subscription));
    },
    DeleteSubscription(req: { subscription: string }) {
      const s = subscriptionOrThrow(req.subscription);
      subscriptions.delete(s.name);
      for (const st of s.streams) st.call.emit('error', { code: grpc.status.NOT_FOUND, details: 'Subscription does not exist' });
      return {};
    },
    Acknowledge(req: { subscription: string; ackIds: string[] }) {
      ack(subscriptionOrThrow(req.subscription), req.ackIds ?? []);
      return {};
    },
    ModifyAckDeadline(req: { subscription: string; ackIds: string[]; ackDeadlineSeconds: number }) {
      modifyDeadline(subscriptionOrThrow(req.subscription), req.ackIds ?? [], req.ackDeadlineSeconds ?? 0);
      return {};
    },
    async Pull(req: PullRequest, call) {
      const s = subscriptionOrThrow(req.subscription);
      if (!(req.maxMessages > 0)) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'max_messages must be positive.');
      expireLeases(s);
      if (s.backlog.length === 0 && !req.returnImmediately) {
        await new Promise<void>((resolve) => {
          const done = () => {
            s.waiters.delete(done);
            clearTimeout(t);
            timers.delete(t);
            call.off('cancelled', done);
            resolve();
          };
          const t = later(pullWaitMs, done);
          s.waiters.add(done);
          call.once('cancelled', done);
        });
      }
      const receivedMessages = s.backlog.splice(0, req.maxMessages).map((m) => lease(s, m, s.ackDeadlineSeconds));
      return { receivedMessages };
    },
  };

  function streamingPull(call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>, record: FakePubSubCall) {
    let state: StreamState | undefined;
    let sub: SubscriptionState | undefined;
    const close = () => {
      if (state) state.open = false;
      if (state && sub) sub.streams.delete(state);
    };
    call.on('cancelled', () => {
      record.outcome ??= grpc.status.CANCELLED;
      close();
    });
    call.on('error', close);
    call.on('close', close);
    call.on('end', () => {
      // The client half-closed: finish the call.
      close();
      if (record.outcome === undefined) {
        record.outcome = grpc.status.OK;
        call.end();
      }
    });
    call.on('data', (req: StreamingPullRequest) => {
      if (stopped) return;
      try {
        if (!state) {
          if (record.request === undefined) record.request = req;
          sub = subscriptionOrThrow(req.subscription ?? '');
          state = { call, ackDeadlineSeconds: req.streamAckDeadlineSeconds || sub.ackDeadlineSeconds, open: true };
          sub.streams.add(state);
          call.write({ receivedMessages: [], subscriptionProperties: { exactlyOnceDeliveryEnabled: false, messageOrderingEnabled: false } });
        } else {
          if (req.streamAckDeadlineSeconds) state.ackDeadlineSeconds = req.streamAckDeadlineSeconds;
          const isKeepAlive = !req.ackIds?.length && !req.modifyDeadlineAckIds?.length && !req.streamAckDeadlineSeconds && !req.subscription;
          if (isKeepAlive) call.write({ receivedMessages: [] }); // server keepalive (protocol version 1)
        }
        if (req.ackIds?.length) ack(sub!, req.ackIds);
        (req.modifyDeadlineAckIds ?? []).forEach((id, i) => modifyDeadline(sub!, [id], req.modifyDeadlineSeconds?.[i] ?? 0));
        dispatch(sub!);
      } catch (err) {
        const e = err instanceof RpcError ? err : new RpcError(grpc.status.INTERNAL, String(err));
        record.outcome = e.code;
        close();
        call.emit('error', { code: e.code, details: e.details });
      }
    });
  }

  // --- faults ---

  function takeFault(method: string): FaultRule | undefined {
    const rule = faultRules.find((r) => r.remaining > 0 && (!r.method || r.method === method));
    if (!rule) return undefined;
    rule.remaining--;
    faultRules = faultRules.filter((r) => r.remaining > 0);
    return rule;
  }

  const faults: FakePubSubFaults = {
    failNext(n, opts = {}) {
      faultRules.push({ kind: 'fail', remaining: n, method: opts.method, code: opts.code ?? grpc.status.UNAVAILABLE, details: opts.details });
    },
    setLatency(ms, opts = {}) {
      latency = { ms, method: opts.method };
    },
    dropNext(n, opts = {}) {
      faultRules.push({ kind: 'drop', remaining: n, method: opts.method, code: grpc.status.UNAVAILABLE });
    },
    clear() {
      faultRules = [];
      latency = { ms: 0 };
    },
  };

  /** Runs latency and fault injection; resolves false when the call must not be handled. */
  async function preamble(method: string, record: FakePubSubCall, fail: (code: grpc.status, details: string) => void): Promise<boolean> {
    if (latency.ms > 0 && (!latency.method || latency.method === method)) {
      await new Promise<void>((resolve) => later(latency.ms, resolve));
    }
    if (stopped) return false;
    const fault = takeFault(method);
    if (fault?.kind === 'drop') {
      record.outcome = 'dropped';
      relay.dropAll();
      return false;
    }
    if (fault) {
      record.outcome = fault.code;
      fail(fault.code, fault.details ?? `fake-pubsub: injected ${grpc.status[fault.code]} for ${method}`);
      return false;
    }
    return true;
  }

  // --- services ---

  function buildImplementation(def: grpc.ServiceDefinition): grpc.UntypedServiceImplementation {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(def)) {
      const name = (method.path as string).split('/').pop()!;
      if (method.requestStream && method.responseStream) {
        impl[key] = (call: grpc.ServerDuplexStream<any, any>) => {
          const record: FakePubSubCall = { method: name, request: undefined, authorization: authorizationOf(call.metadata) };
          calls.push(record);
          const fail = (code: grpc.status, details: string) => call.emit('error', { code, details });
          if (name !== 'StreamingPull') {
            record.outcome = grpc.status.UNIMPLEMENTED;
            fail(grpc.status.UNIMPLEMENTED, `fake-pubsub does not implement ${name}`);
            return;
          }
          // Buffer requests while the preamble runs; the handler re-reads them.
          call.pause();
          void preamble(name, record, fail).then((go) => {
            if (!go) return;
            streamingPull(call, record);
            call.resume();
          });
        };
      } else if (!method.requestStream && !method.responseStream) {
        impl[key] = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
          const record: FakePubSubCall = { method: name, request: call.request, authorization: authorizationOf(call.metadata) };
          calls.push(record);
          const fail = (code: grpc.status, details: string) => callback({ code, details });
          const handler = unary[name];
          if (!handler) {
            record.outcome = grpc.status.UNIMPLEMENTED;
            fail(grpc.status.UNIMPLEMENTED, `fake-pubsub does not implement ${name}`);
            return;
          }
          void preamble(name, record, fail).then(async (go) => {
            if (!go) return;
            try {
              const response = await handler(call.request, call);
              record.outcome = grpc.status.OK;
              callback(null, response);
            } catch (err) {
              const e = err instanceof RpcError ? err : new RpcError(grpc.status.INTERNAL, String(err));
              record.outcome = e.code;
              fail(e.code, e.details);
            }
          });
        };
      } else {
        impl[key] = (call: grpc.ServerWritableStream<any, any> | grpc.ServerReadableStream<any, any>, callback?: grpc.sendUnaryData<any>) => {
          calls.push({ method: name, request: undefined, outcome: grpc.status.UNIMPLEMENTED, authorization: authorizationOf(call.metadata) });
          const status = { code: grpc.status.UNIMPLEMENTED, details: `fake-pubsub does not implement ${name}` };
          if (callback) callback(status);
          else call.emit('error', status);
        };
      }
    }
    return impl;
  }

  const server = new grpc.Server();
  server.addService(services.Publisher, buildImplementation(services.Publisher));
  server.addService(services.Subscriber, buildImplementation(services.Subscriber));
  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });

  const relay = await startRelay(grpcPort);

  for (const name of options.topics ?? []) addTopic(name);

  const subsOf = (project: string, subscription: string) => subscriptionOrThrow(`projects/${project}/subscriptions/${subscription}`);

  return {
    host: `127.0.0.1:${relay.port}`,
    port: relay.port,
    faults,
    calls,
    callCount: (method) => calls.filter((c) => c.method === method).length,
    createTopic: (project, topic) => void addTopic(`projects/${project}/topics/${topic}`),
    deleteTopic: (project, topic) => void topics.delete(`projects/${project}/topics/${topic}`),
    createSubscription: (project, subscription, topicProject, topic, ackDeadlineSeconds = 10) =>
      void addSubscription(`projects/${project}/subscriptions/${subscription}`, `projects/${topicProject}/topics/${topic}`, ackDeadlineSeconds),
    messages: (project, topic) => (topics.get(`projects/${project}/topics/${topic}`)?.messages ?? []).map((m) => m.data),
    published: (project, topic) => [...(topics.get(`projects/${project}/topics/${topic}`)?.messages ?? [])],
    unacked: (project, subscription) => {
      const s = subsOf(project, subscription);
      return [...s.backlog, ...[...s.leases.values()].map((l) => l.message)];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(sweeper);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of subscriptions.values()) for (const wake of [...s.waiters]) wake();
      server.forceShutdown();
      await relay.close();
    },
  };
}

// --- TCP relay ----------------------------------------------------------------

interface Relay {
  port: number;
  /** Destroys every client connection (and its upstream twin). */
  dropAll(): void;
  close(): Promise<void>;
}

async function startRelay(upstreamPort: number): Promise<Relay> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const teardown = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const port = (relay.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const [client, upstream] of [...pairs]) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    dropAll,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        relay.close(() => resolve());
      }),
  };
}
