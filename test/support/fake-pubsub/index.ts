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
 *
 * Its parts: store.ts (topics, subscriptions, messages), rpcs.ts and
 * protocol.ts (the RPCs and their gRPC wiring), faults.ts and relay.ts (fault
 * injection); this file puts them together.
 */
import * as grpc from '@grpc/grpc-js';
import { PubSubFaults } from './faults';
import { buildImplementation, type ProtocolContext } from './protocol';
import { loadServices } from './protos';
import { startRelay } from './relay';
import { unaryHandlers, type RpcContext } from './rpcs';
import { PubSubStore } from './store';
import { Timers } from './timers';
import type { FakePubSub, FakePubSubCall, FakePubSubFaults, FakePubSubOptions } from './types';

export type { FakeFaultOptions, FakePubSub, FakePubSubCall, FakePubSubFaults, FakePubSubMessage, FakePubSubOptions } from './types';

export async function startFakePubSub(options: FakePubSubOptions = {}): Promise<FakePubSub> {
  const services = loadServices();
  const store = new PubSubStore();
  const timers = new Timers();
  const calls: FakePubSubCall[] = [];
  let stopped = false;
  const isStopped = () => stopped;
  const faults = new PubSubFaults({ timers, isStopped, dropConnections: () => relay.dropAll() });
  const rpc: RpcContext = { store, timers, pullWaitMs: options.pullWaitMs ?? 1000, isStopped };
  const ctx: ProtocolContext = { rpc, unary: unaryHandlers(rpc), faults, calls };

  const server = new grpc.Server();
  server.addService(services.Publisher, buildImplementation(services.Publisher, ctx));
  server.addService(services.Subscriber, buildImplementation(services.Subscriber, ctx));
  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  const relay = await startRelay(grpcPort);

  for (const name of options.topics ?? []) store.addTopic(name);

  return {
    host: `127.0.0.1:${relay.port}`,
    port: relay.port,
    faults: faultsView(faults),
    calls,
    callCount: (method) => calls.filter((c) => c.method === method).length,
    ...storeView(store),
    async stop() {
      if (stopped) return;
      stopped = true;
      timers.cancelAll();
      store.stop();
      server.forceShutdown();
      await relay.close();
    },
  };
}

/** The handle's faults, as plain functions (they may be passed around unbound). */
function faultsView(faults: PubSubFaults): FakePubSubFaults {
  return {
    failNext: (n, opts) => faults.failNext(n, opts),
    setLatency: (ms, opts) => faults.setLatency(ms, opts),
    dropNext: (n, opts) => faults.dropNext(n, opts),
    clear: () => faults.clear(),
  };
}

/** The handle's view of the store: what tests read and seed. */
function storeView(store: PubSubStore): Pick<FakePubSub, 'createTopic' | 'deleteTopic' | 'createSubscription' | 'messages' | 'published' | 'unacked'> {
  const topic = (project: string, name: string) => store.topics.get(`projects/${project}/topics/${name}`);
  return {
    createTopic: (project, name) => void store.addTopic(`projects/${project}/topics/${name}`),
    deleteTopic: (project, name) => void store.topics.delete(`projects/${project}/topics/${name}`),
    createSubscription: (project, subscription, topicProject, topicName, ackDeadlineSeconds = 10) =>
      void store.addSubscription(`projects/${project}/subscriptions/${subscription}`, `projects/${topicProject}/topics/${topicName}`, ackDeadlineSeconds),
    messages: (project, name) => (topic(project, name)?.messages ?? []).map((m) => m.data),
    published: (project, name) => [...(topic(project, name)?.messages ?? [])],
    unacked: (project, subscription) => {
      const s = store.subscriptionOrThrow(`projects/${project}/subscriptions/${subscription}`);
      return [...s.backlog, ...[...s.leases.values()].map((l) => l.message)];
    },
  };
}
