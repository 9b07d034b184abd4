/**
 * Fault injection of the fake Pub/Sub server: failing the next calls with a
 * status, latency, and dropped connections (through the TCP relay).
 */
import * as grpc from '@grpc/grpc-js';
import type { Timers } from './timers';
import type { FakePubSubCall, FakePubSubFaults } from './types';

interface FaultRule {
  kind: 'fail' | 'drop';
  remaining: number;
  method?: string;
  code: grpc.status;
  details?: string;
}

export interface FaultDeps {
  timers: Timers;
  /** Destroys every client connection. */
  dropConnections(): void;
  isStopped(): boolean;
}

export class PubSubFaults implements FakePubSubFaults {
  private rules: FaultRule[] = [];
  private latency: { ms: number; method?: string } = { ms: 0 };

  constructor(private readonly deps: FaultDeps) {}

  failNext(n: number, opts: { method?: string; code?: grpc.status; details?: string } = {}): void {
    this.rules.push({ kind: 'fail', remaining: n, method: opts.method, code: opts.code ?? grpc.status.UNAVAILABLE, details: opts.details });
  }

  setLatency(ms: number, opts: { method?: string } = {}): void {
    this.latency = { ms, method: opts.method };
  }

  dropNext(n: number, opts: { method?: string } = {}): void {
    this.rules.push({ kind: 'drop', remaining: n, method: opts.method, code: grpc.status.UNAVAILABLE });
  }

  clear(): void {
    this.rules = [];
    this.latency = { ms: 0 };
  }

  /** Runs latency and fault injection; resolves false when the call must not be handled. */
  async preamble(method: string, record: FakePubSubCall, fail: (code: grpc.status, details: string) => void): Promise<boolean> {
    if (this.latency.ms > 0 && (!this.latency.method || this.latency.method === method)) {
      await new Promise<void>((resolve) => this.deps.timers.later(this.latency.ms, resolve));
    }
    if (this.deps.isStopped()) return false;
    const fault = this.take(method);
    if (fault?.kind === 'drop') {
      record.outcome = 'dropped';
      this.deps.dropConnections();
      return false;
    }
    if (fault) {
      record.outcome = fault.code;
      fail(fault.code, fault.details ?? `fake-pubsub: injected ${grpc.status[fault.code]} for ${method}`);
      return false;
    }
    return true;
  }

  private take(method: string): FaultRule | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && (!r.method || r.method === method));
    if (!rule) return undefined;
    rule.remaining--;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return rule;
  }
}
