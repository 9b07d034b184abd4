import { loadConfig } from '../../src/shared/config';
import { Fleet } from '../../src/primary/fleet';
import { Supervisor, type SupervisorEvents } from '../../src/primary/supervisor';
import { fakeCluster, type FakeWorker } from '../support/fake-cluster';
import { recordingLogger } from '../support/recording';

jest.mock('node:cluster', () => ({ __esModule: true, default: jest.requireActual('../support/fake-cluster').fakeCluster }));

const SEVERITY: Record<number, string> = { 3: 'error', 4: 'warn', 6: 'info', 7: 'debug' };

/** A supervisor over the fake cluster, recording its events and log lines as `<level> <message>`. */
function setup(env: Record<string, string> = {}) {
  const config = loadConfig({ WORKERS: '2', CRASH_LOOP_DEATHS: '3', CRASH_LOOP_WINDOW: '30', WORKER_RESTART_MAX_BACKOFF: '10', ...env });
  const { lines, logger } = recordingLogger();
  let now = 1_000_000;
  const fleet = new Fleet(config.cluster.heartbeatIntervalMs, () => now);
  const events: string[] = [];
  const replies: unknown[] = [];
  const on: SupervisorEvents = {
    listening: () => events.push('listening'),
    otherMessage: (msg, reply) => {
      events.push(`other ${(msg as { type: string }).type}`);
      replies.push(msg);
      reply({ type: 'antenna:prom-text', id: 7, text: 'x', contentType: 'text/plain' });
    },
    gone: (pid) => events.push(`gone ${pid}`),
    restarted: () => events.push('restarted'),
    crashLoopWhileServing: (reason) => events.push(`crash-loop-serving ${reason}`),
    giveUp: (reason) => events.push(`give-up ${reason}`),
    allExited: () => events.push('all-exited'),
  };
  const supervisor = new Supervisor(config, logger, fleet, on);
  const logged = () =>
    lines.map((l) => {
      const { Severity, Fields } = JSON.parse(l) as { Severity: number; Fields: { message: string } };
      return `${SEVERITY[Severity]} ${Fields.message}`;
    });
  return {
    supervisor,
    fleet,
    events,
    logged,
    advanceClock: (ms: number) => (now += ms),
    forkListening(): FakeWorker {
      const t = supervisor.fork();
      const w = t.worker as unknown as FakeWorker;
      w.listen();
      return w;
    },
  };
}

const pidOf = (w: FakeWorker) => w.process.pid!;
const flush = () => new Promise((r) => setImmediate(r));

beforeEach(() => {
  fakeCluster.reset();
  jest.useFakeTimers({ doNotFake: ['setImmediate'] });
});
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('supervisor: forking and worker messages', () => {
  it('tracks a forked worker in the fleet and counts it listening only once it says so', () => {
    const s = setup();
    const t = s.supervisor.fork();
    const w = t.worker as unknown as FakeWorker;
    expect(s.supervisor.size).toBe(1);
    expect(s.fleet.silentForMs(pidOf(w))).toBe(0);
    expect(s.supervisor.listeningCount()).toBe(0);
    expect(s.events).toEqual([]);
    w.listen();
    expect(s.events).toEqual(['listening']);
    expect(s.supervisor.listeningCount()).toBe(1);
    expect(s.supervisor.workers().map((x) => x.worker.process.pid)).toEqual([pidOf(w)]);
  });

  it('records a worker report in the fleet view, and hands other messages over with a reply to that worker', async () => {
    const s = setup();
    const a = s.forkListening();
    const b = s.forkListening();
    b.say({ type: 'antenna:report', pid: pidOf(b), saveQueueSize: 3, inFlight: 1 });
    expect(s.fleet.view().saveQueueSize).toBe(3);
    a.say({ type: 'antenna:prom-scrape', id: 7 });
    expect(s.events).toEqual(['listening', 'listening', 'other antenna:prom-scrape']);
    expect(a.sent).toEqual([{ type: 'antenna:prom-text', id: 7, text: 'x', contentType: 'text/plain' }]);
    expect(b.sent).toEqual([]);
    await flush();
  });

  it('refuses to track a worker node could not spawn, and says which limits to check', () => {
    const s = setup();
    fakeCluster.failForks = true;
    expect(() => s.supervisor.fork()).toThrow('no worker process could be started: check the process and open-file limits (ulimit -u, ulimit -n)');
    const err = s.supervisor.tryFork();
    expect(err).toBeInstanceOf(Error);
    expect(s.supervisor.size).toBe(0);
    // node reports the spawn failure as an 'error' on the worker: logged, never thrown at the primary.
    const e = Object.assign(new Error('spawn failed'), { code: 'EAGAIN' });
    fakeCluster.forked[0]!.emit('error', e);
    fakeCluster.forked[1]!.emit('error', new Error('no code here'));
    expect(s.logged()).toEqual(['warn worker (not started): EAGAIN', 'warn worker (not started): no code here']);
  });

  it('logs an error of a running worker with its pid', () => {
    const s = setup();
    const w = s.forkListening();
    w.emit('error', Object.assign(new Error('kill failed'), { code: 'ESRCH' }));
    expect(s.logged()).toEqual([`warn worker ${pidOf(w)}: ESRCH`]);
  });
});

describe('supervisor: messages to workers', () => {
  it('broadcasts to every worker, or only to the responsive ones', async () => {
    const s = setup({ HEARTBEAT_INTERVAL: '1000' });
    const a = s.forkListening();
    const b = s.forkListening();
    s.advanceClock(3001);
    b.say({ type: 'antenna:report', pid: pidOf(b), saveQueueSize: 0, inFlight: 0 });
    expect(s.fleet.isUnresponsive(pidOf(a))).toBe(true);
    s.supervisor.broadcast({ type: 'antenna:shutdown' });
    s.supervisor.broadcast({ type: 'antenna:fleet', workers: [], saveQueueSize: 0 }, true);
    expect(a.sent).toEqual([{ type: 'antenna:shutdown' }]);
    expect(b.sent).toEqual([{ type: 'antenna:shutdown' }, { type: 'antenna:fleet', workers: [], saveQueueSize: 0 }]);
    await flush();
  });

  it('logs a message that could not be delivered to an exiting worker, and carries on', async () => {
    const s = setup();
    const w = s.forkListening();
    w.sendError = Object.assign(new Error('channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' });
    s.supervisor.sendTo(w as never, { type: 'antenna:shutdown' });
    await flush();
    expect(s.logged()).toEqual([`warn message antenna:shutdown to worker ${pidOf(w)} not delivered (ERR_IPC_CHANNEL_CLOSED); the worker is exiting`]);
  });

  it('sends nothing through a closed channel', async () => {
    const s = setup();
    const w = s.forkListening();
    w.connected = false;
    s.supervisor.broadcast({ type: 'antenna:shutdown' });
    expect(w.sent).toEqual([]);
    await flush();
  });
});

describe('supervisor: replacing workers that die', () => {
  it('replaces a serving worker at once, and says why', () => {
    const s = setup();
    const a = s.forkListening();
    s.forkListening();
    fakeCluster.exit(a, null, 'SIGKILL');
    expect(s.events.slice(2)).toEqual([`gone ${pidOf(a)}`, 'restarted']);
    expect(fakeCluster.forked).toHaveLength(3);
    const replacement = fakeCluster.forked[2]!;
    expect(s.supervisor.size).toBe(2);
    expect(s.fleet.silentForMs(pidOf(a))).toBe(Infinity);
    expect(s.logged()).toEqual([
      `error worker ${pidOf(a)} died unexpectedly (signal SIGKILL); it was serving: replacing it at once`,
      `info replaced worker ${pidOf(a)} with worker ${pidOf(replacement)} after 0 ms`,
    ]);
  });

  it('tells a worker that drained and left by itself from one that crashed', () => {
    const s = setup();
    const a = s.forkListening();
    fakeCluster.exit(a, 0);
    expect(s.logged()[0]).toBe(
      `warn worker ${pidOf(a)} stopped on its own after draining (exit code 0; signal the primary to stop the node); it was serving: replacing it at once`,
    );
    const b = fakeCluster.forked[1]!;
    b.listen();
    fakeCluster.exit(b, 0, 'SIGTERM');
    expect(s.logged()[2]).toBe(`error worker ${pidOf(b)} died unexpectedly (signal SIGTERM); it was serving: replacing it at once`);
    const c = fakeCluster.forked[2]!;
    c.listen();
    fakeCluster.exit(c, 3);
    expect(s.logged()[4]).toBe(`error worker ${pidOf(c)} died unexpectedly (exit code 3); it was serving: replacing it at once`);
  });

  it('backs off a worker that died before listening: 100 ms, then 200 ms', () => {
    const s = setup();
    s.forkListening();
    const a = s.supervisor.fork().worker as unknown as FakeWorker;
    fakeCluster.exit(a, 1);
    expect(s.logged()).toEqual([
      `error worker ${pidOf(a)} died unexpectedly (exit code 1); it had not listened yet (1 such deaths within 30 s): replacing it in 100 ms`,
    ]);
    jest.advanceTimersByTime(99);
    expect(fakeCluster.forked).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(fakeCluster.forked).toHaveLength(3);
    const b = fakeCluster.forked[2]!;
    expect(s.logged()[1]).toBe(`info replaced worker ${pidOf(a)} with worker ${pidOf(b)} after 100 ms`);
    fakeCluster.exit(b, 1);
    expect(s.logged()[2]).toMatch(/\(2 such deaths within 30 s\): replacing it in 200 ms$/);
    jest.advanceTimersByTime(199);
    expect(fakeCluster.forked).toHaveLength(3);
    jest.advanceTimersByTime(1);
    expect(fakeCluster.forked).toHaveLength(4);
  });

  it('keeps trying to fork a replacement every WORKER_RESTART_MAX_BACKOFF while spawning fails', () => {
    const s = setup({ WORKER_RESTART_MAX_BACKOFF: '4' });
    const a = s.forkListening();
    fakeCluster.failForks = true;
    fakeCluster.exit(a, null, 'SIGKILL');
    expect(s.logged()[1]).toBe(
      `error cannot fork a replacement for worker ${pidOf(a)} (no worker process could be started: check the process and open-file limits (ulimit -u, ulimit -n)); trying again in 4 s`,
    );
    expect(fakeCluster.forked).toHaveLength(2);
    jest.advanceTimersByTime(3999);
    expect(fakeCluster.forked).toHaveLength(2);
    fakeCluster.failForks = false;
    jest.advanceTimersByTime(1);
    expect(fakeCluster.forked).toHaveLength(3);
    expect(s.supervisor.size).toBe(1);
    expect(s.logged()[2]).toBe(`info replaced worker ${pidOf(a)} with worker ${pidOf(fakeCluster.forked[2]!)} after 4000 ms`);
  });

  it('does not fork a delayed replacement once stopping', () => {
    const s = setup();
    s.forkListening();
    const a = s.supervisor.fork().worker as unknown as FakeWorker;
    fakeCluster.exit(a, 1);
    s.supervisor.stop();
    jest.advanceTimersByTime(10_000);
    expect(fakeCluster.forked).toHaveLength(2);
  });
});

describe('supervisor: crash loops', () => {
  it('gives up when workers keep dying at start-up and none listens, and kills the ones still starting', () => {
    const s = setup({ CRASH_LOOP_DEATHS: '2' });
    const a = s.supervisor.fork().worker as unknown as FakeWorker;
    const b = s.supervisor.fork().worker as unknown as FakeWorker;
    a.say({ type: 'antenna:startup-failed', reason: 'STORAGE_BUCKET missing' });
    fakeCluster.exit(a, 1);
    jest.advanceTimersByTime(100);
    const c = fakeCluster.forked[2]!;
    expect(b.signals).toEqual([]);
    fakeCluster.exit(c, 1);
    expect(s.events).toEqual([`gone ${pidOf(a)}`, 'restarted', `gone ${pidOf(c)}`, 'restarted', 'give-up STORAGE_BUCKET missing']);
    expect(s.logged().at(-1)).toBe(
      'error Unhandled startup exception: workers keep dying at start-up (2 deaths within 30 s; last: exit code 1; reason: STORAGE_BUCKET missing); giving up',
    );
    expect(b.signals).toEqual(['SIGKILL']);
    expect(s.supervisor.running).toBe(false);
    // Given up: a later exit is neither replaced nor the end of a drain.
    fakeCluster.exit(b, null, 'SIGKILL');
    jest.advanceTimersByTime(60_000);
    expect(fakeCluster.forked).toHaveLength(3);
    expect(s.events.at(-1)).toBe(`gone ${pidOf(b)}`);
  });

  it('gives up with the exit as the reason when no worker said why', () => {
    const s = setup({ CRASH_LOOP_DEATHS: '2' });
    fakeCluster.exit(s.supervisor.fork().worker as unknown as FakeWorker, 1);
    jest.advanceTimersByTime(100);
    fakeCluster.exit(fakeCluster.forked[1]!, null, 'SIGSEGV');
    expect(s.events.at(-1)).toBe('give-up signal SIGSEGV');
    expect(s.logged().at(-1)).toBe('error Unhandled startup exception: workers keep dying at start-up (2 deaths within 30 s; last: signal SIGSEGV); giving up');
  });

  it('keeps the serving workers while new ones keep dying, reports once per streak, and retries every max back-off', () => {
    const s = setup({ CRASH_LOOP_DEATHS: '2', WORKER_RESTART_MAX_BACKOFF: '5' });
    const serving = s.forkListening();
    const dieAtStartup = () => {
      const w = fakeCluster.forked.at(-1)!;
      fakeCluster.exit(w, 1);
      return w;
    };
    s.supervisor.fork();
    dieAtStartup();
    jest.advanceTimersByTime(100);
    dieAtStartup();
    expect(s.events.filter((e) => e.startsWith('crash-loop'))).toEqual(['crash-loop-serving exit code 1']);
    expect(s.logged().at(-1)).toBe(
      'error workers keep dying at start-up (2 deaths within 30 s; last: exit code 1); the 1 listening workers keep serving; trying again every 5 s (WORKER_RESTART_MAX_BACKOFF)',
    );
    expect(serving.signals).toEqual([]);
    expect(s.supervisor.running).toBe(true);
    const before = fakeCluster.forked.length;
    jest.advanceTimersByTime(4999);
    expect(fakeCluster.forked).toHaveLength(before);
    jest.advanceTimersByTime(1);
    expect(fakeCluster.forked).toHaveLength(before + 1);
    // The same streak: not reported again.
    dieAtStartup();
    jest.advanceTimersByTime(5000);
    expect(s.events.filter((e) => e.startsWith('crash-loop'))).toHaveLength(1);
    // A worker listens: the streak is over, and the next one is reported again.
    fakeCluster.forked.at(-1)!.listen();
    s.supervisor.fork();
    dieAtStartup();
    expect(s.events.filter((e) => e.startsWith('crash-loop'))).toHaveLength(2);
  });
});

describe('supervisor: stopping and retiring', () => {
  it('does not replace workers once stopped, and reports when the last one has exited', () => {
    const s = setup();
    const a = s.forkListening();
    const b = s.forkListening();
    s.supervisor.stop();
    expect(s.supervisor.running).toBe(false);
    fakeCluster.exit(a, 0);
    expect(s.events).not.toContain('all-exited');
    fakeCluster.exit(b, null, 'SIGKILL');
    expect(s.events.slice(-2)).toEqual([`gone ${pidOf(b)}`, 'all-exited']);
    expect(fakeCluster.forked).toHaveLength(2);
    expect(s.logged()).toEqual([`info worker ${pidOf(a)} exited (exit code 0)`, `info worker ${pidOf(b)} exited (signal SIGKILL)`]);
  });

  it('does not replace a retiring worker, nor count it as listening', async () => {
    const s = setup({ GRACEFUL_TIMEOUT: '5' });
    const a = s.forkListening();
    const t = s.supervisor.workers()[0]!;
    const retired = s.supervisor.retire(t);
    expect(a.sent).toEqual([{ type: 'antenna:shutdown' }]);
    expect(s.supervisor.listeningCount()).toBe(0);
    fakeCluster.exit(a, 0);
    await retired;
    expect(fakeCluster.forked).toHaveLength(1);
    expect(s.events).toEqual(['listening', `gone ${pidOf(a)}`]);
    expect(s.logged()).toEqual([`info worker ${pidOf(a)} exited (exit code 0)`]);
    jest.advanceTimersByTime(10_000);
    expect(a.signals).toEqual([]);
  });

  it('kills a retiring worker that does not drain within GRACEFUL_TIMEOUT', async () => {
    const s = setup({ GRACEFUL_TIMEOUT: '5' });
    const a = s.forkListening();
    const retired = s.supervisor.retire(s.supervisor.workers()[0]!);
    jest.advanceTimersByTime(4999);
    expect(a.signals).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(a.signals).toEqual(['SIGKILL']);
    expect(s.logged()).toEqual([`error worker ${pidOf(a)} did not drain within 5 s; killing it`]);
    fakeCluster.exit(a, null, 'SIGKILL');
    await retired;
  });

  it('retires a worker that is already dead at once', async () => {
    const s = setup({ GRACEFUL_TIMEOUT: '5' });
    const a = s.forkListening();
    const t = s.supervisor.workers()[0]!;
    a.dead = true;
    await s.supervisor.retire(t);
    jest.advanceTimersByTime(10_000);
    expect(a.signals).toEqual([]);
  });
});

describe('supervisor: waiting for a worker to listen', () => {
  it('answers at once for a listening worker', async () => {
    const s = setup();
    s.forkListening();
    await expect(s.supervisor.waitListening(s.supervisor.workers()[0]!, 1000)).resolves.toBe(true);
  });

  it('answers true when it listens, false when it exits or the time runs out', async () => {
    const s = setup();
    const t1 = s.supervisor.fork();
    const p1 = s.supervisor.waitListening(t1, 1000);
    (t1.worker as unknown as FakeWorker).say({ type: 'antenna:report', pid: 1, saveQueueSize: 0, inFlight: 0 });
    (t1.worker as unknown as FakeWorker).listen();
    await expect(p1).resolves.toBe(true);
    expect(t1.worker.listenerCount('message')).toBe(1);

    const t2 = s.supervisor.fork();
    const p2 = s.supervisor.waitListening(t2, 1000);
    fakeCluster.exit(t2.worker as unknown as FakeWorker, 1);
    await expect(p2).resolves.toBe(false);

    const t3 = s.supervisor.fork();
    const p3 = s.supervisor.waitListening(t3, 1000);
    jest.advanceTimersByTime(999);
    (t3.worker as unknown as FakeWorker).listen();
    await expect(p3).resolves.toBe(true);

    const t4 = s.supervisor.fork();
    const p4 = s.supervisor.waitListening(t4, 1000);
    jest.advanceTimersByTime(1000);
    await expect(p4).resolves.toBe(false);
    expect(t4.worker.listenerCount('exit')).toBe(0);
  });
});

describe('supervisor: stuck workers (WORKER_TIMEOUT)', () => {
  it('kills a listening worker silent for longer than WORKER_TIMEOUT, once, and replaces it when it exits', () => {
    const s = setup({ WORKER_TIMEOUT: '10', WORKER_START_TIMEOUT: '30' });
    const a = s.forkListening();
    const b = s.forkListening();
    s.advanceClock(10_000);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual([]);
    s.advanceClock(1);
    b.say({ type: 'antenna:report', pid: pidOf(b), saveQueueSize: 0, inFlight: 0 });
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual(['SIGKILL']);
    expect(b.signals).toEqual([]);
    expect(s.logged()).toEqual([`error worker ${pidOf(a)} has not reported for 10 s (WORKER_TIMEOUT=10): its event loop is stuck; killing it`]);
    expect(s.supervisor.listeningCount()).toBe(1);
    s.advanceClock(5000);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual(['SIGKILL']);
    fakeCluster.exit(a, null, 'SIGKILL');
    expect(fakeCluster.forked).toHaveLength(3);
  });

  it('gives a worker that has not listened yet WORKER_START_TIMEOUT when that is longer', () => {
    const s = setup({ WORKER_TIMEOUT: '10', WORKER_START_TIMEOUT: '30' });
    const a = s.supervisor.fork().worker as unknown as FakeWorker;
    s.advanceClock(30_000);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual([]);
    s.advanceClock(1);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual(['SIGKILL']);
    expect(s.logged()).toEqual([
      `error worker ${pidOf(a)} has not reported for 30 s (not listening yet, WORKER_START_TIMEOUT=30): its event loop is stuck; killing it`,
    ]);
  });

  it('gives a starting worker WORKER_TIMEOUT when that is the longer one', () => {
    const s = setup({ WORKER_TIMEOUT: '40', WORKER_START_TIMEOUT: '30' });
    const a = s.supervisor.fork().worker as unknown as FakeWorker;
    s.advanceClock(40_000);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual([]);
    s.advanceClock(1);
    s.supervisor.killStuckWorkers();
    expect(a.signals).toEqual(['SIGKILL']);
  });

  it('leaves retiring workers, a stopping node, and WORKER_TIMEOUT=0 alone', () => {
    const off = setup({ WORKER_TIMEOUT: '0' });
    const a = off.forkListening();
    off.advanceClock(1e9);
    off.supervisor.killStuckWorkers();
    expect(a.signals).toEqual([]);

    const retiring = setup({ WORKER_TIMEOUT: '10' });
    const b = retiring.forkListening();
    void retiring.supervisor.retire(retiring.supervisor.workers()[0]!);
    retiring.advanceClock(60_000);
    retiring.supervisor.killStuckWorkers();
    expect(b.signals).toEqual([]);

    const stopping = setup({ WORKER_TIMEOUT: '10' });
    const c = stopping.forkListening();
    stopping.supervisor.stop();
    stopping.advanceClock(60_000);
    stopping.supervisor.killStuckWorkers();
    expect(c.signals).toEqual([]);
  });
});
