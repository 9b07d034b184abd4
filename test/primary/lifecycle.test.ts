import { loadConfig } from '../../src/shared/config';
import type { Logger } from '../../src/shared/logging';
import { Lifecycle } from '../../src/primary/lifecycle';
import type { Supervisor, Tracked } from '../../src/primary/supervisor';

/** A worker as the lifecycle sees it: killable, and dead or not. */
function fakeWorker(pid: number) {
  const w = { pid, dead: false, signals: [] as string[] };
  const tracked = {
    worker: { process: { pid, kill: (sig: string) => (w.signals.push(sig), true) }, isDead: () => w.dead },
    listening: true,
    retiring: false,
  } as unknown as Tracked;
  return { w, tracked };
}

/** The parts of the Supervisor the lifecycle uses, recording what it was asked. */
function fakeSupervisor(workers: Tracked[], opts: { forkFails?: boolean; listens?: boolean } = {}) {
  let running = true;
  let nextPid = 100;
  const calls: string[] = [];
  const supervisor = {
    get running() {
      return running;
    },
    get size() {
      return workers.length;
    },
    workers: () => [...workers],
    stop: () => {
      running = false;
      calls.push('stop');
    },
    broadcast: (msg: { type: string }) => calls.push(`broadcast ${msg.type}`),
    tryFork: () => {
      if (opts.forkFails) return new Error('no worker process could be started');
      const { tracked } = fakeWorker(nextPid++);
      calls.push(`fork ${tracked.worker.process.pid}`);
      return tracked;
    },
    waitListening: async (t: Tracked, timeoutMs: number) => {
      if (timeoutMs !== 7000) calls.push(`wait ${t.worker.process.pid} for ${timeoutMs} ms, not WORKER_START_TIMEOUT`);
      calls.push(`wait ${t.worker.process.pid}`);
      return opts.listens ?? true;
    },
    retire: async (t: Tracked) => {
      calls.push(`retire ${t.worker.process.pid}`);
    },
  };
  return { supervisor: supervisor as unknown as Supervisor, calls };
}

/** A logger keeping `<level> <message>` lines. */
function recordingLog() {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => void lines.push(`${level} ${msg}`);
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger };
}

function setup(workers: Tracked[], opts?: { forkFails?: boolean; listens?: boolean }) {
  const config = loadConfig({ GRACEFUL_TIMEOUT: '5', WORKER_START_TIMEOUT: '7' });
  const { supervisor, calls } = fakeSupervisor(workers, opts);
  const exits: number[] = [];
  const { lines, log } = recordingLog();
  const lifecycle = new Lifecycle(config, log, supervisor, {
    beforeExit: async () => void calls.push('beforeExit'),
    afterDrain: async () => void calls.push('afterDrain'),
    exit: (code) => exits.push(code),
  });
  return { lifecycle, calls, exits, lines, supervisor };
}

const flush = () => new Promise((r) => setImmediate(r));

// The drain's GRACEFUL_TIMEOUT timer, on a clock the tests move.
beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate'] }));
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('lifecycle: drain', () => {
  it('stops replacing, asks every worker to drain, and exits 0 once they all exited', async () => {
    const { lifecycle, calls, exits } = setup([fakeWorker(1).tracked]);
    lifecycle.drain('SIGTERM');
    expect(calls).toEqual(['stop', 'broadcast antenna:shutdown']);
    expect(exits).toEqual([]);
    lifecycle.drained();
    await flush();
    expect(calls.slice(2)).toEqual(['beforeExit', 'afterDrain']);
    expect(exits).toEqual([0]);
  });

  it('with no worker left exits 0 at once', async () => {
    const { lifecycle, exits } = setup([]);
    lifecycle.drain('SIGINT');
    await flush();
    expect(exits).toEqual([0]);
  });

  it('kills the workers still draining at GRACEFUL_TIMEOUT and exits 1', async () => {
    const a = fakeWorker(1);
    const b = fakeWorker(2);
    const { lifecycle, calls, exits } = setup([a.tracked, b.tracked]);
    lifecycle.drain('SIGTERM');
    jest.advanceTimersByTime(4999);
    expect(a.w.signals).toEqual([]);
    jest.advanceTimersByTime(1);
    expect([a.w.signals, b.w.signals]).toEqual([['SIGKILL'], ['SIGKILL']]);
    await flush();
    expect(calls).toContain('beforeExit');
    expect(calls).not.toContain('afterDrain');
    expect(exits).toEqual([1]);
  });

  it('a second signal while draining changes nothing', () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked]);
    lifecycle.drain('SIGTERM');
    lifecycle.drain('SIGINT');
    expect(calls).toEqual(['stop', 'broadcast antenna:shutdown']);
  });
});

describe('lifecycle: reload', () => {
  it('replaces the workers one at a time: fork, wait until it listens, retire the old one', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked, fakeWorker(2).tracked]);
    await lifecycle.reload();
    expect(calls).toEqual(['fork 100', 'wait 100', 'retire 1', 'fork 101', 'wait 101', 'retire 2']);
  });

  it('stops, keeping the old workers, when a new one does not listen within WORKER_START_TIMEOUT', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked, fakeWorker(2).tracked], { listens: false });
    await lifecycle.reload();
    expect(calls).toEqual(['fork 100', 'wait 100']);
  });

  it('stops, keeping the old workers, when no new worker can be forked', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked], { forkFails: true });
    await lifecycle.reload();
    expect(calls).toEqual([]);
  });

  it('does not start while draining', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked]);
    lifecycle.drain('SIGTERM');
    await lifecycle.reload();
    expect(calls).toEqual(['stop', 'broadcast antenna:shutdown']);
  });
});

describe('lifecycle: what the operator reads, and the edges', () => {
  it('says what a drain does and when it is over; the GRACEFUL_TIMEOUT timer is cancelled by a complete drain', async () => {
    const a = fakeWorker(1);
    const { lifecycle, lines, exits } = setup([a.tracked, fakeWorker(2).tracked]);
    lifecycle.drain('SIGTERM');
    lifecycle.drained();
    await flush();
    jest.advanceTimersByTime(60_000);
    await flush();
    expect(a.w.signals).toEqual([]);
    expect(exits).toEqual([0]);
    expect(lines).toEqual(['info SIGTERM received: draining 2 workers (up to 5 s)', 'info all workers have exited; primary exiting']);
  });

  it('names the number of workers killed at GRACEFUL_TIMEOUT', async () => {
    const { lifecycle, lines } = setup([fakeWorker(1).tracked, fakeWorker(2).tracked]);
    lifecycle.drain('SIGINT');
    jest.advanceTimersByTime(5000);
    await flush();
    expect(lines).toEqual(['info SIGINT received: draining 2 workers (up to 5 s)', 'error GRACEFUL_TIMEOUT reached: killing 2 workers that have not drained']);
  });

  it('says what a reload does, and why it stopped', async () => {
    const ok = setup([fakeWorker(1).tracked, fakeWorker(2).tracked]);
    await ok.lifecycle.reload();
    expect(ok.lines).toEqual(['info SIGHUP received: replacing 2 workers one at a time', 'info reload complete']);

    const noFork = setup([fakeWorker(1).tracked], { forkFails: true });
    await noFork.lifecycle.reload();
    expect(noFork.lines.at(-1)).toBe('error reload stopped: cannot fork a new worker (no worker process could be started); old workers keep serving');

    const noListen = setup([fakeWorker(1).tracked], { listens: false });
    await noListen.lifecycle.reload();
    expect(noListen.lines.at(-1)).toBe(
      'error reload stopped: new worker 100 did not start listening within WORKER_START_TIMEOUT=7 s; old workers keep serving',
    );
    expect(noListen.lines).not.toContain('info reload complete');
  });

  it('skips an old worker that is already dead', async () => {
    const dead = fakeWorker(1);
    dead.w.dead = true;
    const { lifecycle, calls } = setup([dead.tracked, fakeWorker(2).tracked]);
    await lifecycle.reload();
    expect(calls).toEqual(['fork 100', 'wait 100', 'retire 2']);
  });

  it('ignores a second SIGHUP during a reload, and takes one after it', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked]);
    const first = lifecycle.reload();
    await lifecycle.reload();
    await first;
    expect(calls).toEqual(['fork 100', 'wait 100', 'retire 1']);
    await lifecycle.reload();
    expect(calls).toEqual(['fork 100', 'wait 100', 'retire 1', 'fork 101', 'wait 101', 'retire 1']);
    // Also after a reload that stopped early.
    const stopped = setup([fakeWorker(1).tracked], { forkFails: true });
    await stopped.lifecycle.reload();
    await stopped.lifecycle.reload();
    expect(stopped.lines.filter((l) => l.startsWith('info SIGHUP'))).toHaveLength(2);
  });

  it('stops replacing when a drain starts mid-reload', async () => {
    const { lifecycle, calls } = setup([fakeWorker(1).tracked, fakeWorker(2).tracked]);
    const reloading = lifecycle.reload();
    lifecycle.drain('SIGTERM');
    await reloading;
    expect(calls.filter((c) => c.startsWith('fork'))).toEqual(['fork 100']);
  });
});
