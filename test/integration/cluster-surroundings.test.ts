/** Cluster mode: a primary whose stdout reader, open-file budget or IPC parent went away keeps supervising and serving. */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fleet, sleep, smallCrash, submit, waitFor, workerPids } from '../support/cluster';
import { spawnServer, startServer } from '../support/server';

/** Lowers the soft open-file limit of `pid` to its lowest free descriptor number: its next open fails with EMFILE. */
function exhaustFileDescriptors(pid: number | string): void {
  const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  let lowestFree = 0;
  while (used.has(lowestFree)) lowestFree++;
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${lowestFree}:`]);
}

describe('a primary whose surroundings went away', () => {
  it('keeps supervising after the reader of its stdout is gone', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200' });
    try {
      const pids = await workerPids(server, 2);
      server.proc.stdout!.destroy(); // the log shipper is gone: the next line meets EPIPE
      process.kill(pids[0]!, 'SIGKILL'); // the primary logs the death and the replacement
      const view = await waitFor('a replacement worker in the fleet view', async () => {
        const v = await fleet(server);
        return v.workers.length === 2 && !v.workers.some((w) => w.pid === pids[0]) ? v : undefined;
      });
      expect(view.workers.map((w) => w.pid)).toContain(pids[1]);
      expect(server.proc.exitCode).toBeNull();
      expect((await submit(server, smallCrash(1))).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('cannot fork a replacement (open-file limit reached): logs why, keeps the others serving, and retries', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200', WORKER_RESTART_MAX_BACKOFF: '2' });
    const primary = String(server.proc.pid);
    try {
      const pids = await workerPids(server, 2);
      // No file descriptor left for the new worker's IPC channel: fork fails with EMFILE.
      exhaustFileDescriptors(primary);
      process.kill(pids[0]!, 'SIGKILL');
      await server.waitForLog(
        /cannot fork a replacement for worker \d+ \(no worker process could be started: check the process and open-file limits.*\); trying again in 2 s/,
      );
      expect((await submit(server, smallCrash(1))).status).toBe(200);
      execFileSync('prlimit', ['--pid', primary, '--nofile=4096:']);
      await server.waitForLog(new RegExp(`replaced worker ${pids[0]} with worker \\d+`), 20000);
      await workerPids(server, 2);
      expect(server.proc.exitCode).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('starts and serves when the parent that gave it an IPC channel (PM2) disconnected during start-up', async () => {
    const server = spawnServer({ WORKERS: '2' }, { ipc: true });
    server.proc.disconnect();
    try {
      await server.waitForLog(/antenna ready/);
      await sleep(300);
      expect(server.proc.exitCode).toBeNull();
      expect(server.stderr.join('')).not.toMatch(/ERR_IPC_CHANNEL_CLOSED|EPIPE/);
    } finally {
      await server.stop();
    }
  });
});
