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
    waitListening: async (t: Tracked) => {
      calls.push(`wait ${t.worker.process.pid}`);
      return opts.listens ?? true;
    },
    retire: async (t: Tracked) => {
      calls.push(`retire ${t.worker.process.pid}`);
    },
  };
  return { supervisor: supervisor as unknown as Supervisor, calls };
}

const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

function setup(workers: Tracked[], opts?: { forkFails?: boolean; listens?: boolean }) {
  const config = loadConfig({ GRACEFUL_TIMEOUT: '5', WORKER_START_TIMEOUT: '7' });
  const { supervisor, calls } = fakeSupervisor(workers, opts);
  const exits: number[] = [];
  const lifecycle = new Lifecycle(config, silent, supervisor, {
    beforeExit: async () => void calls.push('beforeExit'),
    afterDrain: async () => void calls.push('afterDrain'),
    exit: (code) => exits.push(code),
  });
  return { lifecycle, calls, exits };
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
