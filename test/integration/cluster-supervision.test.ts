/** Cluster mode: the primary forks WORKERS workers and replaces one that dies, gets stuck or is signalled directly. */
import { crashBody, crashParts, fakeDump } from '../support/crashes';
import { expectAllStored, fleet, sleep, smallCrash, submit, waitFor, workerPids } from '../support/cluster';
import { startServer, type RunningServer } from '../support/server';

describe('worker supervision', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ WORKERS: '3', HEARTBEAT_INTERVAL: '200' });
  });
  afterAll(() => server?.stop());

  it('forks WORKERS workers and the heartbeat lists each with its save queue', async () => {
    // Reports arrive every HEARTBEAT_INTERVAL; on a busy machine the first ones can lag.
    const view = await waitFor('3 reporting workers in the fleet view', async () => {
      const v = await fleet(server);
      return v.workers.length === 3 && v.errors.length === 0 ? v : undefined;
    });
    expect(new Set(view.workers.map((w) => w.pid)).size).toBe(3);
    for (const w of view.workers) {
      expect(w).toEqual(expect.objectContaining({ save_queue_size: 0, in_flight: expect.any(Number), last_report_ms: expect.any(Number) }));
    }
    expect(view.save_queue_size).toBe(0);
    expect(view.errors).toEqual([]);
  });

  it('replaces a worker killed with SIGKILL, logging pid and signal, and keeps serving', async () => {
    const before = await waitFor('the fleet view', async () => {
      const pids = (await fleet(server)).workers.map((w) => w.pid);
      return pids.length === 3 ? pids : undefined;
    });
    const victim = before[0]!;
    process.kill(victim, 'SIGKILL');
    await server.waitForLog(new RegExp(`worker ${victim} died unexpectedly \\(signal SIGKILL\\)`));
    await server.waitForLog(new RegExp(`replaced worker ${victim} with worker \\d+`));
    const view = await waitFor('a replacement in the fleet view', async () => {
      const v = await fleet(server);
      return v.workers.length === 3 && !v.workers.some((w) => w.pid === victim) ? v : undefined;
    });
    expect(view.workers.map((w) => w.pid)).not.toContain(victim);
    const res = await submit(server, smallCrash(1));
    expect(res.status).toBe(200);
  });
});

describe('a stuck worker', () => {
  it('is killed after WORKER_TIMEOUT without a report, and replaced; the other keeps serving', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200', WORKER_TIMEOUT: '2' });
    try {
      const pids = await workerPids(server, 2);
      process.kill(pids[0]!, 'SIGSTOP'); // as good as an endless loop: no reports, no accepts
      await server.waitForLog(new RegExp(`worker ${pids[0]} has not reported for \\d+ s \\(WORKER_TIMEOUT=2\\): its event loop is stuck; killing it`));
      await server.waitForLog(new RegExp(`replaced worker ${pids[0]} with worker \\d+`));
      const view = await waitFor('two reporting workers again', async () => {
        const v = await fleet(server);
        return v.workers.length === 2 && v.workers.every((w) => !w.unresponsive) ? v : undefined;
      });
      expect(view.workers.map((w) => w.pid)).toContain(pids[1]);
      expect(view.workers.map((w) => w.pid)).not.toContain(pids[0]);
      expect(server.logs.some((l) => new RegExp(`worker ${pids[1]} has not reported`).test(l.raw))).toBe(false);
      expect((await submit(server, smallCrash(3))).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('a draining worker keeps reporting, so WORKER_TIMEOUT never cuts its drain short (replacements starting meanwhile get WORKER_START_TIMEOUT)', async () => {
    // WORKER_TIMEOUT 3 s against a drain of ~5 s: long enough apart that a busy machine
    // delaying a report by a second cannot make this fail.
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200', WORKER_TIMEOUT: '3', GRACEFUL_TIMEOUT: '20' });
    try {
      const pids = await workerPids(server, 2);
      // ~5 s upload: 1 MiB in 64 KiB chunks, 300 ms apart.
      const slow = submit(server, crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(1 << 20, 9) })), {
        size: 65536,
        delayMs: 300,
      });
      await sleep(300);
      for (const pid of pids) process.kill(pid, 'SIGTERM');
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(expectAllStored(server, [answer])).toBe(1);
      expect(server.logs.filter((l) => /has not reported for/.test(l.raw)).map((l) => l.Fields?.message)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe('a worker signalled directly', () => {
  it('drains, exits 0, is logged as such and replaced', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200' });
    try {
      const pids = await workerPids(server, 2);
      process.kill(pids[0]!, 'SIGTERM');
      await server.waitForLog(new RegExp(`worker ${pids[0]} stopped on its own after draining \\(exit code 0; signal the primary to stop the node\\)`));
      await server.waitForLog(new RegExp(`replaced worker ${pids[0]} with worker \\d+`));
      expect(server.logs.some((l) => new RegExp(`worker ${pids[0]} died unexpectedly`).test(l.raw))).toBe(false);
      expect((await submit(server, smallCrash(2))).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
