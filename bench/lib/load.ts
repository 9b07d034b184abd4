import http from 'node:http';
import autocannon from 'autocannon';
import type { CrashBody } from './bodies';
import { quantile } from './heartbeat';

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
/** Set by stopLoad for a one-connection-per-request load in progress. */
let stopPerRequest: (() => void) | undefined;

/** Stops the load in progress (Ctrl-C); its promise still resolves with what was measured. */
export function stopLoad(): void {
  current?.stop();
  stopPerRequest?.();
}

const CRASH_ID_RE = /^CrashID=bp-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\n$/;

/** The crash ids of 2xx answers, and how many 2xx answers were not a CrashID line: both loads collect them. */
function crashIdCollector(): { crashIds: string[]; unexpected(): number; answer(text: string): void } {
  const crashIds: string[] = [];
  let unexpected = 0;
  return {
    crashIds,
    unexpected: () => unexpected,
    answer(text) {
      const m = CRASH_ID_RE.exec(text);
      if (m) crashIds.push(m[1]!);
      else unexpected++;
    },
  };
}

export interface LoadShape {
  /** Each connection closes and is replaced by a new one after this many requests (0: never). */
  reconnectEvery?: number;
  /** Stop once this many answers have come back, or at `durationS`, whichever is first. */
  amount?: number;
  /**
   * One request per connection, for a server that closes every connection after its answer
   * (gunicorn's sync workers). autocannon writes the next request into such a connection:
   * against Antenna at 4 MB, 191–236 EPIPEs per 8 s, and Antenna read the cut bodies as
   * malformed ("unexpected form structure"), work charged to its crashes.
   */
  connectionPerRequest?: boolean;
}

/**
 * POSTs `body` to `<url>/submit` over `connections` keep-alive connections
 * for `durationS` seconds, shaped by `shape`. Each answer's body reaches
 * `onResponse` of the request definition (autocannon lib/requestIterator.js
 * `recordBody`), which is where the crash ids are collected.
 */
export function runLoad(url: string, body: CrashBody, connections: number, durationS: number, shape: LoadShape = {}): Promise<LoadResult> {
  if (shape.connectionPerRequest) return runLoadPerRequest(url, body, connections, durationS, shape.amount);
  const ids = crashIdCollector();
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
              if (status >= 200 && status <= 299) ids.answer(text);
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
          crashIds: ids.crashIds,
          unexpectedBodies: ids.unexpected(),
        });
      },
    );
    current = instance;
    if (shape.amount) cap = setTimeout(() => instance.stop(), durationS * 1000);
  });
}

/**
 * `connections` loops, each POSTing `body` on a new connection (node:http, no agent), reading
 * the answer, and starting over, until `durationS` or `amount` answers; what runLoad measures.
 * A request that gets no answer within 30 s counts as a timeout (and as an error, as in autocannon).
 */
function runLoadPerRequest(url: string, body: CrashBody, connections: number, durationS: number, amount = Infinity): Promise<LoadResult> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  const end = started + durationS * 1000;
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const ids = crashIdCollector();
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let stopped = false;
  stopPerRequest = () => (stopped = true);
  const more = () => !stopped && performance.now() < end && latencies.length + errors < amount;
  const once = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      let settled = false;
      const failed = () => {
        if (settled) return;
        settled = true;
        errors++;
        resolve();
      };
      const req = http.request({ host: hostname, port, path: '/submit', method: 'POST', headers: body.headers, agent: false, timeout: 30000 }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', failed);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          latencies.push(performance.now() - t);
          const status = res.statusCode ?? 0;
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          if (status >= 200 && status <= 299) {
            ok2xx++;
            ids.answer(Buffer.concat(parts).toString('latin1'));
          } else non2xx++;
          resolve();
        });
      });
      req.on('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.on('error', failed);
      req.end(body.body);
    });
  const loop = async () => {
    while (more()) await once();
  };
  return Promise.all(Array.from({ length: connections }, loop)).then(() => {
    stopPerRequest = undefined;
    latencies.sort((a, b) => a - b);
    const ms = (v: number) => Math.round(v);
    return {
      durationS: (performance.now() - started) / 1000,
      ok2xx,
      non2xx,
      errors,
      timeouts,
      statusCodes,
      latencyP50Ms: ms(quantile(latencies, 0.5)),
      latencyP99Ms: ms(quantile(latencies, 0.99)),
      latencyMaxMs: ms(latencies.at(-1) ?? NaN),
      crashIds: ids.crashIds,
      unexpectedBodies: ids.unexpected(),
    };
  });
}
