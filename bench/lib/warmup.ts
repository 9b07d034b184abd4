import { crashBody, type CrashBody } from './bodies';
import { runLoad } from './load';
import { SIZES, WARMUP_RECONNECT_EVERY, type Options } from './options';
import type { Server } from './servers';
import { emptyFiles } from './verify';

/**
 * Unrecorded load with `body` over every worker of `server` (for `durationS`,
 * or until `amount` answers), so that the run after it measures code V8 has
 * already optimised. The first rounds after a start cost far more per crash
 * than later ones: 5 workers, 4 KB, 6 s rounds after a 2 s warm-up, 0.81 /
 * 0.51 / 0.30 ms; 400 KB after three such rounds 1.76 / 1.31 / 1.33 (see
 * bench/README.md, "Warm-up"). Long-lived connections stay on the workers
 * they landed on, so these reconnect, and new connections reach idle workers.
 */
export async function warmUp(server: Server, body: CrashBody, connections: number, durationS: number, amount?: number): Promise<WarmUpResult> {
  const t0 = Date.now();
  const r = await runLoad(server.url, body, connections, durationS, {
    amount,
    reconnectEvery: WARMUP_RECONNECT_EVERY,
    connectionPerRequest: server.closesConnections,
  });
  if (server.dataDir) await emptyFiles(server.dataDir);
  return { answered: r.ok2xx, seconds: (Date.now() - t0) / 1000 };
}

export interface WarmUpResult {
  /** 2xx answers during the warm-up. */
  answered: number;
  /** How long it took, emptying a durable server's files included. */
  seconds: number;
}

/** The warm-up after a server starts: 4 KB bodies until `--warmup-requests` per worker or `--warmup` seconds; skipped when either is 0. */
export async function warmUpAfterStart(server: Server, o: Options, connections: number): Promise<WarmUpResult | undefined> {
  if (!(o.warmupS > 0 && o.warmupRequests > 0)) return undefined;
  return warmUp(server, crashBody(SIZES['4k'], 'plain'), Math.max(4, connections), o.warmupS, o.warmupRequests * o.workers);
}

/** The warm-up before a server's first run with `body`: until `--warmup-each-requests` per worker (0: no bound) or `--warmup-each` seconds; skipped at 0 s. */
export async function warmUpWithBody(server: Server, body: CrashBody, o: Options, connections: number): Promise<WarmUpResult | undefined> {
  if (!(o.warmupEachS > 0)) return undefined;
  return warmUp(server, body, connections, o.warmupEachS, o.warmupEachRequests * o.workers || undefined);
}
