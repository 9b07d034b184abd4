/* eslint-disable @typescript-eslint/no-explicit-any -- gRPC handlers of a service loaded from .proto files at run time: their message types are not known to TypeScript. */
/**
 * The Pub/Sub RPCs the fake implements, on top of the store. Publisher:
 * CreateTopic, GetTopic, DeleteTopic, Publish. Subscriber: CreateSubscription,
 * GetSubscription, DeleteSubscription, Pull, Acknowledge, ModifyAckDeadline and
 * StreamingPull (enough for `subscription.on('message')`).
 */
import * as grpc from '@grpc/grpc-js';
import {
  RpcError,
  subscriptionProto,
  topicProto,
  type PubSubStore,
  type PublishRequest,
  type PullRequest,
  type StreamState,
  type StreamingPullRequest,
  type SubscriptionState,
} from './store';
import type { Timers } from './timers';
import type { FakePubSubCall } from './types';

export interface RpcContext {
  store: PubSubStore;
  timers: Timers;
  /** How long a Pull with no message waits for one before answering empty (ms). */
  pullWaitMs: number;
  isStopped(): boolean;
}

export type Unary = (request: any, call: grpc.ServerUnaryCall<any, any>) => unknown | Promise<unknown>;

/** Waits until a message arrives, the call is cancelled, or pullWaitMs passed. */
function waitForMessage(s: SubscriptionState, call: grpc.ServerUnaryCall<any, any>, ctx: RpcContext): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      s.waiters.delete(done);
      ctx.timers.cancel(t);
      call.off('cancelled', done);
      resolve();
    };
    const t = ctx.timers.later(ctx.pullWaitMs, done);
    s.waiters.add(done);
    call.once('cancelled', done);
  });
}

export function unaryHandlers(ctx: RpcContext): Record<string, Unary> {
  const { store } = ctx;
  return {
    CreateTopic(req: { name: string; labels?: Record<string, string> }) {
      const t = store.addTopic(req.name);
      t.labels = req.labels ?? {};
      return topicProto(t);
    },
    GetTopic(req: { topic: string }) {
      return topicProto(store.topicOrThrow(req.topic));
    },
    DeleteTopic(req: { topic: string }) {
      store.topicOrThrow(req.topic);
      store.topics.delete(req.topic);
      return {};
    },
    Publish(req: PublishRequest) {
      const t = store.topicOrThrow(req.topic);
      if (!req.messages || req.messages.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'The request contains no messages.');
      for (const m of req.messages) {
        if ((!m.data || m.data.length === 0) && Object.keys(m.attributes ?? {}).length === 0) {
          throw new RpcError(
            grpc.status.INVALID_ARGUMENT,
            'One or more messages in the publish request is empty. Each message must contain either non-empty data, or at least one attribute.',
          );
        }
      }
      return { messageIds: store.publish(t, req.messages) };
    },
    CreateSubscription(req: { name: string; topic: string; ackDeadlineSeconds?: number }) {
      return subscriptionProto(store.addSubscription(req.name, req.topic, req.ackDeadlineSeconds ?? 0));
    },
    GetSubscription(req: { subscription: string }) {
      return subscriptionProto(store.subscriptionOrThrow(req.subscription));
    },
    DeleteSubscription(req: { subscription: string }) {
      const s = store.subscriptionOrThrow(req.subscription);
      store.subscriptions.delete(s.name);
      for (const st of s.streams) st.call.emit('error', { code: grpc.status.NOT_FOUND, details: 'Subscription does not exist' });
      return {};
    },
    Acknowledge(req: { subscription: string; ackIds: string[] }) {
      store.ack(store.subscriptionOrThrow(req.subscription), req.ackIds ?? []);
      return {};
    },
    ModifyAckDeadline(req: { subscription: string; ackIds: string[]; ackDeadlineSeconds: number }) {
      store.modifyDeadline(store.subscriptionOrThrow(req.subscription), req.ackIds ?? [], req.ackDeadlineSeconds ?? 0);
      return {};
    },
    async Pull(req: PullRequest, call) {
      const s = store.subscriptionOrThrow(req.subscription);
      if (!(req.maxMessages > 0)) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'max_messages must be positive.');
      store.expireLeases(s);
      if (s.backlog.length === 0 && !req.returnImmediately) {
        await waitForMessage(s, call, ctx);
      }
      const receivedMessages = s.backlog.splice(0, req.maxMessages).map((m) => store.lease(s, m, s.ackDeadlineSeconds));
      return { receivedMessages };
    },
  };
}

export function streamingPull(ctx: RpcContext, call: grpc.ServerDuplexStream<StreamingPullRequest, unknown>, record: FakePubSubCall): void {
  const { store } = ctx;
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
    if (ctx.isStopped()) return;
    try {
      if (!state) {
        if (record.request === undefined) record.request = req;
        sub = store.subscriptionOrThrow(req.subscription ?? '');
        state = { call, ackDeadlineSeconds: req.streamAckDeadlineSeconds || sub.ackDeadlineSeconds, open: true };
        sub.streams.add(state);
        call.write({ receivedMessages: [], subscriptionProperties: { exactlyOnceDeliveryEnabled: false, messageOrderingEnabled: false } });
      } else {
        if (req.streamAckDeadlineSeconds) state.ackDeadlineSeconds = req.streamAckDeadlineSeconds;
        const isKeepAlive = !req.ackIds?.length && !req.modifyDeadlineAckIds?.length && !req.streamAckDeadlineSeconds && !req.subscription;
        if (isKeepAlive) call.write({ receivedMessages: [] }); // server keepalive (protocol version 1)
      }
      if (req.ackIds?.length) store.ack(sub!, req.ackIds);
      (req.modifyDeadlineAckIds ?? []).forEach((id, i) => store.modifyDeadline(sub!, [id], req.modifyDeadlineSeconds?.[i] ?? 0));
      store.dispatch(sub!);
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(grpc.status.INTERNAL, String(err));
      record.outcome = e.code;
      close();
      call.emit('error', { code: e.code, details: e.details });
    }
  });
}
