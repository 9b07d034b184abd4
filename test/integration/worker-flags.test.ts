/** WORKER_MAX_SEMI_SPACE_MB and WORKER_INITIAL_OLD_SPACE_MB reach the worker processes as a node flag an operator can see in `ps`. */
import { readFileSync } from 'node:fs';
import { workerPids } from '../support/cluster';
import { startServer } from '../support/server';

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('worker node flags', () => {
  it('workers run with --max-semi-space-size=4 by default (without it when 0), and with --initial-old-space-size=64 when WORKER_INITIAL_OLD_SPACE_MB=64', async () => {
    for (const [env, semi, old] of [
      [{}, true, false],
      [{ WORKER_MAX_SEMI_SPACE_MB: '0', WORKER_INITIAL_OLD_SPACE_MB: '64' }, false, true],
    ] as const) {
      const server = await startServer({ WORKERS: '1', ...env });
      try {
        const [pid] = await workerPids(server, 1);
        expect(cmdline(pid!).includes('--max-semi-space-size=4')).toBe(semi);
        expect(cmdline(pid!).includes('--initial-old-space-size=64')).toBe(old);
        expect(cmdline(server.proc.pid!).some((a) => a.startsWith('--max-semi-space-size') || a.startsWith('--initial-old-space-size'))).toBe(false);
      } finally {
        await server.stop();
      }
    }
  });
});
