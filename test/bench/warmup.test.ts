import { crashBody } from '../../bench/lib/bodies';
import { treeCpu } from '../../bench/lib/cpu';
import { runLoad } from '../../bench/lib/load';
import { parseOptions, SIZES, UsageError, WARMUP_RECONNECT_EVERY } from '../../bench/lib/options';
import type { Server } from '../../bench/lib/servers';
import { benchServers } from './bench-servers';

/** CPU ms each worker of `server` has used, by pid. */
function workerCpuMs(server: Server): Map<number, number> {
  const tree = treeCpu(server.pid);
  tree.delete(server.pid);
  return tree;
}

/** CPU ms each worker used between two readings. */
const spent = (before: Map<number, number>, after: Map<number, number>) => [...after].map(([pid, ms]) => ms - (before.get(pid) ?? 0));

describe('the warm-ups', () => {
  it('after start: 10,000 requests per worker, at most 30 s; before each body: 2,000 per worker, at most 30 s (5 with --quick); each set by its option', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ warmupS: 30, warmupRequests: 10_000, warmupEachS: 30, warmupEachRequests: 2_000 });
    expect(parseOptions(['--quick'], {}, '/r')).toMatchObject({ warmupEachS: 5, warmupEachRequests: 2_000 });
    expect(parseOptions(['--warmup-each-requests', '0'], {}, '/r')).toMatchObject({ warmupEachRequests: 0 });
    expect(() => parseOptions(['--warmup-each-requests', '-3'], {}, '/r')).toThrow(/whole number of requests per worker/);
    expect(parseOptions(['--warmup', '12', '--warmup-requests=500'], {}, '/r')).toMatchObject({ warmupS: 12, warmupRequests: 500 });
    expect(() => parseOptions(['--warmup-requests', '2.5'], {}, '/r')).toThrow(/whole number of requests per worker/);
    expect(parseOptions(['--warmup-each', '0'], {}, '/r')).toMatchObject({ warmupEachS: 0 });
    expect(parseOptions(['--warmup-each=1.5'], {}, '/r')).toMatchObject({ warmupEachS: 1.5 });
    expect(() => parseOptions(['--warmup-each', '-1'], {}, '/r')).toThrow(UsageError);
  });

  describe('against a server of three workers', () => {
    const servers = benchServers();

    // A long-lived connection keeps the worker that accepted it; only a new
    // connection can reach the others. That is why the warm-up reconnects.
    it('reaches every worker when its connection reconnects, where a long-lived one reaches one', async () => {
      const server = await servers.start('raw-sha', 3);
      const body = crashBody(SIZES['4k'], 'plain');

      const before = workerCpuMs(server);
      const kept = await runLoad(server.url, body, 1, 1.5);
      const afterKept = workerCpuMs(server);
      expect(kept.ok2xx).toBeGreaterThan(20);
      // Every request went over one connection, so one worker served them all.
      expect(spent(before, afterKept).filter((ms) => ms >= 30)).toHaveLength(1);

      // The same single connection, replaced every few requests.
      const warm = await runLoad(server.url, body, 1, 2, { reconnectEvery: WARMUP_RECONNECT_EVERY });
      const afterWarm = workerCpuMs(server);
      expect(warm.ok2xx).toBeGreaterThan(20);
      expect(warm.non2xx + warm.errors).toBe(0);
      expect(spent(afterKept, afterWarm).every((ms) => ms >= 10)).toBe(true);
    }, 60_000);

    it('stops at the number of answers asked for, or at its duration if that comes first', async () => {
      const server = await servers.start('raw-sha', 1);
      const body = crashBody(SIZES['4k'], 'plain');
      const counted = await runLoad(server.url, body, 4, 60, { amount: 200 });
      expect(counted.ok2xx).toBe(200);
      // autocannon loses the count of a request cut by a reconnect: a few fewer, never more.
      const reconnecting = await runLoad(server.url, body, 4, 60, { amount: 200, reconnectEvery: WARMUP_RECONNECT_EVERY });
      expect(reconnecting.ok2xx).toBeGreaterThan(180);
      expect(reconnecting.ok2xx).toBeLessThanOrEqual(200);
      const capped = await runLoad(server.url, body, 4, 1, { amount: 1e9 });
      expect(capped.ok2xx).toBeGreaterThan(0);
      expect(capped.ok2xx).toBeLessThan(1e9);
    }, 60_000);
  });
});
