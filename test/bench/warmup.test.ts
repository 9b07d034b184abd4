import { readFileSync } from 'node:fs';
import { crashBody } from '../../bench/lib/bodies';
import { runLoad } from '../../bench/lib/load';
import { parseOptions, SIZES, UsageError, WARMUP_RECONNECT_EVERY } from '../../bench/lib/options';
import { processTree } from '../../bench/lib/rss';
import { startServer, type Server } from '../../bench/lib/servers';

/** Clock ticks (1/100 s) of user + system CPU each worker of `server` has used. */
function workerTicks(server: Server): number[] {
  return processTree(server.pid)
    .filter((pid) => pid !== server.pid)
    .map((pid) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]);
    });
}

describe('the warm-up before each body', () => {
  it('lasts 5 s by default, is set by --warmup-each and 0 skips it', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ warmupS: 2, warmupEachS: 5 });
    expect(parseOptions(['--warmup-each', '0'], {}, '/r')).toMatchObject({ warmupEachS: 0 });
    expect(parseOptions(['--warmup-each=1.5'], {}, '/r')).toMatchObject({ warmupEachS: 1.5 });
    expect(() => parseOptions(['--warmup-each', '-1'], {}, '/r')).toThrow(UsageError);
  });

  describe('against a server of three workers', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    // A long-lived connection keeps the worker that accepted it; only a new
    // connection can reach the others. That is why the warm-up reconnects.
    it('reaches every worker when its connection reconnects, where a long-lived one reaches one', async () => {
      server = await startServer('raw-sha', { workers: 3, collectorEnv: {} });
      const body = crashBody(SIZES['400k'], 'plain');

      const before = workerTicks(server);
      const kept = await runLoad(server.url, body, 1, 1.5);
      const afterKept = workerTicks(server);
      expect(kept.ok2xx).toBeGreaterThan(20);
      // Every request went over one connection, so one worker served them all.
      const busyKept = afterKept.map((t, i) => t - before[i]!);
      expect(busyKept.filter((t) => t >= 3)).toHaveLength(1);

      // The same single connection, replaced every few requests.
      const warm = await runLoad(server.url, body, 1, 2, WARMUP_RECONNECT_EVERY);
      const afterWarm = workerTicks(server);
      expect(warm.ok2xx).toBeGreaterThan(20);
      expect(warm.non2xx + warm.errors).toBe(0);
      expect(afterWarm.map((t, i) => t - afterKept[i]!).every((t) => t >= 1)).toBe(true);
    }, 60_000);
  });
});
