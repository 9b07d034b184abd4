/**
 * What the fake Pub/Sub server holds: topics with every message published,
 * subscriptions with their backlog and leases, and the delivery rules (leases
 * that expire go back to the backlog, open StreamingPull streams get messages
 * round robin, waiting Pulls are woken).
 */
import * as grpc from '@grpc/grpc-js';
import type { FakePubSubMessage } from './types';

const TOPIC_RE = /^projects\/([^/]+)\/topics\/([^/]+)$/;
const SUBSCRIPTION_RE = /^projects\/([^/]+)\/subscriptions\/([^/]+)$/;

/** An RPC failure with its gRPC status. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

export interface PublishRequest {
  topic: string;
  messages: Array<{ data?: Buffer; attributes?: Record<string, string>; orderingKey?: string }>;
}
export interface PullRequest {
  subscription: string;
  maxMessages: number;
  returnImmediately?: boolean;
}
export interface StreamingPullRequest {
  subscription?: string;
  ackIds?: string[];
  modifyDeadlineSeconds?: number[];
  modifyDeadlineAckIds?: string[];
  streamAckDeadlineSeconds?: number;
}

interface Lease {
  message: FakePubSubMessage;
  ackId: string;
  /** Epoch ms after which the message is delivered again. */
  deadline: number;
}

export interface StreamState {
  call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>;
  ackDeadlineSeconds: number;
  open: boolean;
}

export interface SubscriptionState {
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

export interface TopicState {
  name: string;
  labels: Record<string, string>;
  messages: FakePubSubMessage[];
}

function timestamp(d: Date): { seconds: string; nanos: number } {
  const ms = d.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export function topicProto(t: TopicState) {
  return { name: t.name, labels: t.labels };
}

export function subscriptionProto(s: SubscriptionState) {
  return { name: s.name, topic: s.topic, ackDeadlineSeconds: s.ackDeadlineSeconds, labels: {}, state: 'ACTIVE' };
}

export class PubSubStore {
  readonly topics = new Map<string, TopicState>();
  readonly subscriptions = new Map<string, SubscriptionState>();
  private messageSeq = 0;
  private ackSeq = 0;
  // Redelivers messages whose lease expired.
  private readonly sweeper = setInterval(() => {
    for (const s of this.subscriptions.values()) if (s.leases.size > 0) this.dispatch(s);
  }, 250);

  constructor() {
    this.sweeper.unref();
  }

  topicOrThrow(name: string): TopicState {
    if (!TOPIC_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    const t = this.topics.get(name);
    if (!t) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/')[3]}).`);
    return t;
  }

  subscriptionOrThrow(name: string): SubscriptionState {
    if (!SUBSCRIPTION_RE.test(name ?? '')) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`);
    const s = this.subscriptions.get(name);
    if (!s) throw new RpcError(grpc.status.NOT_FOUND, `Resource not found (resource=${name.split('/')[3]}).`);
    return s;
  }

  addTopic(name: string): TopicState {
    if (!TOPIC_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    if (this.topics.has(name)) throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/')[3]}).`);
    const t: TopicState = { name, labels: {}, messages: [] };
    this.topics.set(name, t);
    return t;
  }

  addSubscription(name: string, topic: string, ackDeadlineSeconds: number): SubscriptionState {
    if (!SUBSCRIPTION_RE.test(name)) throw new RpcError(grpc.status.INVALID_ARGUMENT, `Invalid [subscriptions] name: (name=${name})`);
    this.topicOrThrow(topic);
    if (this.subscriptions.has(name)) {
      throw new RpcError(grpc.status.ALREADY_EXISTS, `Resource already exists in the project (resource=${name.split('/')[3]}).`);
    }
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
    this.subscriptions.set(name, s);
    return s;
  }

  /** Stores valid messages on a topic, queues them for its subscriptions and delivers; answers their ids. */
  publish(t: TopicState, messages: PublishRequest['messages']): string[] {
    const ids: string[] = [];
    const publishTime = new Date();
    for (const m of messages) {
      const stored: FakePubSubMessage = {
        data: Buffer.from(m.data ?? Buffer.alloc(0)),
        attributes: { ...(m.attributes ?? {}) },
        orderingKey: m.orderingKey ?? '',
        messageId: String(++this.messageSeq),
        publishTime,
      };
      t.messages.push(stored);
      ids.push(stored.messageId);
      for (const s of this.subscriptions.values()) if (s.topic === t.name) s.backlog.push(stored);
    }
    for (const s of this.subscriptions.values()) if (s.topic === t.name) this.dispatch(s);
    return ids;
  }

  /** Leases a message to a subscriber: the `ReceivedMessage` to send it. */
  lease(s: SubscriptionState, message: FakePubSubMessage, deadlineSeconds: number) {
    const ackId = `${s.name.split('/')[3]}-${++this.ackSeq}`;
    s.leases.set(ackId, { message, ackId, deadline: Date.now() + deadlineSeconds * 1000 });
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
  expireLeases(s: SubscriptionState): void {
    const now = Date.now();
    for (const [ackId, l] of s.leases) {
      if (l.deadline <= now) {
        s.leases.delete(ackId);
        s.backlog.push(l.message);
      }
    }
  }

  /** Hands waiting messages to open StreamingPull streams (round robin) and wakes pulls. */
  dispatch(s: SubscriptionState): void {
    this.expireLeases(s);
    const streams = [...s.streams].filter((st) => st.open);
    if (streams.length > 0) {
      while (s.backlog.length > 0) {
        const st = streams[s.nextStream++ % streams.length]!;
        const msg = s.backlog.shift()!;
        st.call.write({ receivedMessages: [this.lease(s, msg, st.ackDeadlineSeconds)] });
      }
    }
    if (s.backlog.length > 0) for (const wake of [...s.waiters]) wake();
  }

  ack(s: SubscriptionState, ackIds: string[]): void {
    for (const id of ackIds) s.leases.delete(id);
  }

  /** Extends leases, or with 0 seconds gives the messages back for redelivery. */
  modifyDeadline(s: SubscriptionState, ackIds: string[], seconds: number): void {
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
    if (seconds <= 0) this.dispatch(s);
  }

  /** Stops redelivery and wakes every waiting Pull. */
  stop(): void {
    clearInterval(this.sweeper);
    for (const s of this.subscriptions.values()) for (const wake of [...s.waiters]) wake();
  }
}
