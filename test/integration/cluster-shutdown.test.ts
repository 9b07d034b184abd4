/** Cluster mode: graceful shutdown (SIGTERM, primary killed, GRACEFUL_TIMEOUT, stop during start-up) and zero-downtime reload (SIGHUP). */
import { crashBody, crashParts, fakeDump } from '../support/crashes';
import { expectAllStored, fleet, isAnswer, running, settle, sleep, smallCrash, submit, waitFor, workerPids, type Outcome } from '../support/cluster';
import { post, type Answer } from '../support/http';
import { spawnServer, startServer } from '../support/server';

describe('graceful shutdown under load', () => {
  it('SIGTERM: in-flight uploads finish with CrashIDs that are all stored; later requests are refused; exit 0', async () => {
    const server = await startServer({ WORKERS: '2', GRACEFUL_TIMEOUT: '20' });
    // Slow uploads: ~1 MiB in 64 KiB chunks, 40 ms apart (≈ 0.7 s each).
    const slow = Array.from({ length: 6 }, (_, i) =>
      submit(server, crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(1 << 20, i) })), { size: 65536, delayMs: 40 }),
    );
    await sleep(150);
    server.proc.kill('SIGTERM');
    await server.waitForLog(/SIGTERM received: draining/);
    const late: Array<Promise<Outcome>> = [];
    for (let i = 0; i < 5; i++) {
      late.push(settle(submit(server, smallCrash(i))));
      await sleep(30);
    }
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const l of await Promise.all(late)) {
      // Refused, reset, or 503 — never a CrashID for data that was not kept.
      if (isAnswer(l) && l.status === 200) answers.push(l);
      else if (isAnswer(l)) expect(l.status).toBe(503);
    }
    const { code } = await server.exited;
    expect(code).toBe(0);
    expect(expectAllStored(server, answers)).toBeGreaterThanOrEqual(6);
  });

  it('the primary killed with SIGKILL: the workers finish their uploads, every CrashID is stored, then they exit', async () => {
    const server = await startServer({ WORKERS: '2', GRACEFUL_TIMEOUT: '20' });
    const pids = await workerPids(server, 2);
    try {
      const slow = Array.from({ length: 6 }, (_, i) =>
        submit(server, crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(1 << 20, i) })), { size: 65536, delayMs: 40 }),
      );
      await sleep(150);
      server.proc.kill('SIGKILL');
      const answers = await Promise.all(slow);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(expectAllStored(server, answers)).toBe(6);
      await server.waitForLog(/the primary is gone: draining, then exiting/);
      await waitFor('both workers gone', async () => (pids.every((pid) => !running(pid)) ? true : undefined));
    } finally {
      for (const pid of pids) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a worker that cannot drain within GRACEFUL_TIMEOUT is killed and the primary exits non-zero', async () => {
    const server = await startServer({ WORKERS: '1', GRACEFUL_TIMEOUT: '1', BREAKPAD_BODY_TIMEOUT_SECONDS: '60' });
    const { body, contentType } = smallCrash(1);
    // An upload that never finishes keeps the worker busy.
    const hanging = post(`${server.url}/submit`, {
      headers: { 'Content-Type': contentType, 'Content-Length': body.length },
      body: [body.subarray(0, 100)],
      hang: true,
    }).catch(() => undefined);
    await sleep(200);
    server.proc.kill('SIGTERM');
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    await server.waitForLog(/GRACEFUL_TIMEOUT reached: killing 1 workers/);
    await hanging;
  });

  it('SIGTERM while the workers are still starting: each stops as soon as it has started, exit 0', async () => {
    // A stop sent to a worker before it installed its handlers used to be
    // lost: that worker went on to listen and was killed at GRACEFUL_TIMEOUT.
    const server = spawnServer({ WORKERS: '4', GRACEFUL_TIMEOUT: '20' });
    await server.waitForLog(/forking 4 workers/);
    server.proc.kill('SIGTERM');
    const { code } = await server.exited;
    expect(server.logs.filter((l) => /GRACEFUL_TIMEOUT reached/.test(l.Fields?.message ?? '')).map((l) => l.raw)).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('zero-downtime reload', () => {
  it('SIGHUP replaces every worker one at a time while no request fails', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200' });
    try {
      const before = await workerPids(server, 2);
      const answers: Outcome[] = [];
      let running = true;
      const clients = Array.from({ length: 4 }, async (_, c) => {
        let i = 0;
        while (running) answers.push(await settle(submit(server, smallCrash(c * 1000 + i++))));
      });
      await sleep(300);
      server.proc.kill('SIGHUP');
      await server.waitForLog(/reload complete/, 60000);
      await sleep(300);
      running = false;
      await Promise.all(clients);

      const failures = answers.filter((a) => !isAnswer(a) || a.status !== 200);
      expect(failures.map((f) => (isAnswer(f) ? `${f.status} ${f.text}` : f.error))).toEqual([]);
      expect(answers.length).toBeGreaterThan(20);
      expect(expectAllStored(server, answers as Answer[])).toBe(answers.length);
      const after = await waitFor('2 new workers', async () => {
        const v = await fleet(server);
        const pids = v.workers.map((w) => w.pid);
        return pids.length === 2 && pids.every((p) => !before.includes(p)) ? pids : undefined;
      });
      expect(after).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });
});
