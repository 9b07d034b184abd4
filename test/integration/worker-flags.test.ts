/** WORKER_MAX_SEMI_SPACE_MB reaches the worker processes as a node flag an operator can see in `ps`. */
import { readFileSync } from 'node:fs';
import { workerPids } from '../support/cluster';
import { startServer } from '../support/server';

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('worker node flags', () => {
  it('workers run with --max-semi-space-size=4 by default and without it when WORKER_MAX_SEMI_SPACE_MB=0', async () => {
    for (const [env, expected] of [
      [{}, true],
      [{ WORKER_MAX_SEMI_SPACE_MB: '0' }, false],
    ] as const) {
      const server = await startServer({ WORKERS: '1', ...env });
      try {
        const [pid] = await workerPids(server, 1);
        expect(cmdline(pid!).includes('--max-semi-space-size=4')).toBe(expected);
        expect(cmdline(server.proc.pid!).some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
      } finally {
        await server.stop();
      }
    }
  });
});
