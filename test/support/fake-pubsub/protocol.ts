/* eslint-disable @typescript-eslint/no-explicit-any -- gRPC handlers of a service loaded from .proto files at run time: their message types are not known to TypeScript. */
/**
 * The gRPC side of the fake: every RPC of a service is logged, goes through
 * fault injection, then reaches its implementation in rpcs.ts; every RPC the
 * fake does not implement answers UNIMPLEMENTED.
 */
import * as grpc from '@grpc/grpc-js';
import type { PubSubFaults } from './faults';
import { streamingPull, type RpcContext, type Unary } from './rpcs';
import { RpcError } from './store';
import type { FakePubSubCall } from './types';

export interface ProtocolContext {
  rpc: RpcContext;
  unary: Record<string, Unary>;
  faults: PubSubFaults;
  /** The call log: every call received, in order of arrival. */
  calls: FakePubSubCall[];
}

type Fail = (code: grpc.status, details: string) => void;

function authorizationOf(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return value === undefined ? undefined : String(value);
}

function unimplemented(record: FakePubSubCall, fail: Fail): void {
  record.outcome = grpc.status.UNIMPLEMENTED;
  fail(grpc.status.UNIMPLEMENTED, `fake-pubsub does not implement ${record.method}`);
}

function bidiStreaming(ctx: ProtocolContext, name: string) {
  return (call: grpc.ServerDuplexStream<any, any>) => {
    const record: FakePubSubCall = { method: name, request: undefined, authorization: authorizationOf(call.metadata) };
    ctx.calls.push(record);
    const fail: Fail = (code, details) => call.emit('error', { code, details });
    if (name !== 'StreamingPull') return unimplemented(record, fail);
    // Buffer requests while the preamble runs; the handler re-reads them.
    call.pause();
    void ctx.faults.preamble(name, record, fail).then((go) => {
      if (!go) return;
      streamingPull(ctx.rpc, call, record);
      call.resume();
    });
  };
}

function unaryCall(ctx: ProtocolContext, name: string) {
  return (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
    const record: FakePubSubCall = { method: name, request: call.request, authorization: authorizationOf(call.metadata) };
    ctx.calls.push(record);
    const fail: Fail = (code, details) => callback({ code, details });
    const handler = ctx.unary[name];
    if (!handler) return unimplemented(record, fail);
    void ctx.faults.preamble(name, record, fail).then(async (go) => {
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
}

/** Client- or server-streaming RPCs: Pub/Sub has none the fake implements. */
function oneWayStreaming(ctx: ProtocolContext, name: string) {
  return (call: grpc.ServerWritableStream<any, any> | grpc.ServerReadableStream<any, any>, callback?: grpc.sendUnaryData<any>) => {
    ctx.calls.push({ method: name, request: undefined, outcome: grpc.status.UNIMPLEMENTED, authorization: authorizationOf(call.metadata) });
    const status = { code: grpc.status.UNIMPLEMENTED, details: `fake-pubsub does not implement ${name}` };
    if (callback) callback(status);
    else call.emit('error', status);
  };
}

export function buildImplementation(def: grpc.ServiceDefinition, ctx: ProtocolContext): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(def)) {
    const name = (method.path as string).split('/').pop()!;
    if (method.requestStream && method.responseStream) impl[key] = bidiStreaming(ctx, name);
    else if (!method.requestStream && !method.responseStream) impl[key] = unaryCall(ctx, name);
    else impl[key] = oneWayStreaming(ctx, name);
  }
  return impl;
}
