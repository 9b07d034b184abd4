import autocannon from 'autocannon';
import type { CrashBody } from './bodies';

export interface LoadResult {
  durationS: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Crash ids from the 2xx answers (`CrashID=bp-<id>`). */
  crashIds: string[];
  /** 2xx answers whose body was not a CrashID line. */
  unexpectedBodies: number;
}

let current: autocannon.Instance | undefined;

/** Stops the load in progress (Ctrl-C); its promise still resolves with what was measured. */
export function stopLoad(): void {
  current?.stop();
}

const CRASH_ID_RE = /^CrashID=bp-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\n$/;

export interface LoadShape {
  /** Each connection closes and is replaced by a new one after this many requests (0: never). */
  reconnectEvery?: number;
  /** Stop once this many answers have come back, or at `durationS`, whichever is first. */
  amount?: number;
}

/**
 * POSTs `body` to `<url>/submit` over `connections` keep-alive connections
 * for `durationS` seconds, shaped by `shape`. Each answer's body reaches
 * `onResponse` of the request definition (autocannon lib/requestIterator.js
 * `recordBody`), which is where the crash ids are collected.
 */
export function runLoad(url: string, body: CrashBody, connections: number, durationS: number, shape: LoadShape = {}): Promise<LoadResult> {
  const crashIds: string[] = [];
  let unexpectedBodies = 0;
  let cap: NodeJS.Timeout | undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/submit`,
        method: 'POST',
        headers: body.headers,
        body: body.body,
        connections,
        duration: durationS,
        // autocannon ignores `duration` once `amount` is set: the timer below caps it.
        amount: shape.amount,
        reconnectRate: shape.reconnectEvery ?? 0,
        timeout: 30,
        requests: [
          {
            onResponse(status, text) {
              if (status < 200 || status > 299) return;
              const m = CRASH_ID_RE.exec(text);
              if (m) crashIds.push(m[1]!);
              else unexpectedBodies++;
            },
          },
        ],
      },
      (err, r) => {
        clearTimeout(cap);
        current = undefined;
        if (err) return reject(err);
        const statusCodes: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = count;
        resolve({
          durationS: r.duration,
          ok2xx: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          statusCodes,
          latencyP50Ms: r.latency.p50,
          latencyP99Ms: r.latency.p99,
          latencyMaxMs: r.latency.max,
          crashIds,
          unexpectedBodies,
        });
      },
    );
    current = instance;
    if (shape.amount) cap = setTimeout(() => instance.stop(), durationS * 1000);
  });
}
