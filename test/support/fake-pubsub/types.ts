/** The fake Pub/Sub server's public types: its options, what it stores and logs, and the handle tests drive it with. */
import type * as grpc from '@grpc/grpc-js';

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
