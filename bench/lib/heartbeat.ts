import http from 'node:http';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface HeartbeatStats {
  samples: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The q-quantile (nearest rank) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface HeartbeatSampler {
  stop(): Promise<HeartbeatStats>;
}

/**
 * GET /__lbheartbeat__ about `perSecond` times a second on fresh connections
 * (as a load balancer probes), with node:http — not through the load
 * generator. A probe that fails, times out (2 s) or answers non-200 counts
 * as a failure, and as 2000 ms in the percentiles.
 */
export function probeHeartbeat(port: number, perSecond = 10): HeartbeatSampler {
  const latencies: number[] = [];
  let failures = 0;
  const pending = new Set<Promise<void>>();
  const TIMEOUT_MS = 2000;
  const probe = () => {
    if (pending.size >= 20) return; // bounded: never more than 20 probes in flight
    const start = performance.now();
    const p = new Promise<void>((resolve) => {
      let settled = false;
      const done = (ok: boolean) => {
        if (settled) return;
        settled = true;
        if (ok) latencies.push(performance.now() - start);
        else {
          failures++;
          latencies.push(TIMEOUT_MS);
        }
        resolve();
      };
      const req = http.get({ host: '127.0.0.1', port, path: '/__lbheartbeat__', agent: false, timeout: TIMEOUT_MS }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode === 200));
        res.on('error', () => done(false));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => done(false));
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  };
  const timer = setInterval(probe, 1000 / perSecond);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        samples: sorted.length,
        failures,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        maxMs: sorted.length ? sorted[sorted.length - 1]! : NaN,
      };
    },
  };
}

/** probeHeartbeat in a worker thread (lib/heartbeat-worker.ts), off the load generator's event loop. */
export function sampleHeartbeat(port: number, perSecond = 10): HeartbeatSampler {
  const worker = new Worker(path.join(__dirname, 'heartbeat-worker.js'), { workerData: { port, perSecond } });
  const result = new Promise<HeartbeatStats>((resolve, reject) => {
    worker.once('message', (stats: HeartbeatStats) => resolve(stats));
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
  };
}
