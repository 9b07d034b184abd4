import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runPrimary, type PrimaryDeps } from '../../src/primary/main';
import { loadConfig } from '../../src/shared/config';
import type { Metrics } from '../../src/shared/metrics';
import { fakeCluster, type FakeWorker } from '../support/fake-cluster';
import { recordingLogger } from '../support/recording';
import { tempDir } from '../support/server';
import { waitFor } from '../support/wait';

jest.mock('node:cluster', () => ({ __esModule: true, default: jest.requireActual('../support/fake-cluster').fakeCluster }));

// What the primary sends its own parent (PM2's `ready`), instead of this test process's real IPC channel.
const mockToParent: unknown[] = [];
jest.mock('../../src/shared/ipc', () => {
  const actual = jest.requireActual('../../src/shared/ipc');
  return {
    ...actual,
    sendIpc: (channel: unknown, msg: unknown, onError?: (err: Error) => void) =>
      channel === process ? (mockToParent.push(msg), true) : actual.sendIpc(channel, msg, onError),
  };
});

const SEVERITY: Record<number, string> = { 3: 'error', 4: 'warn', 6: 'info', 7: 'debug' };

class Exit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

let exits: number[];
let throwOnExit: boolean;
let signalsBefore: Record<string, NodeJS.SignalsListener[]>;
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

beforeEach(() => {
  fakeCluster.reset();
  mockToParent.length = 0;
  exits = [];
  throwOnExit = false;
  jest.spyOn(process, 'exit').mockImplementation(((code: number) => {
    exits.push(code);
    if (throwOnExit) throw new Exit(code);
  }) as never);
  signalsBefore = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)]));
});
afterEach(() => {
  jest.restoreAllMocks();
  jest.clearAllTimers();
  jest.useRealTimers();
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!signalsBefore[s]!.includes(l)) process.off(s, l as () => void);
});

/** The handler runPrimary installed for `signal`. */
function handler(signal: (typeof SIGNALS)[number]): () => void {
  const added = process.listeners(signal).filter((l) => !signalsBefore[signal]!.includes(l));
  expect(added).toHaveLength(1);
  return added[0] as () => void;
}

function setup(env: Record<string, string> = {}, deps: Partial<PrimaryDeps> = {}) {
  const config = loadConfig({ WORKERS: '2', CRASHMOVER_SPOOL: 'off', HEARTBEAT_INTERVAL: '1000', GRACEFUL_TIMEOUT: '5', ...env });
  const { lines, logger } = recordingLogger();
  const gauges: string[] = [];
  const closed: string[] = [];
  const metrics: Metrics = {
    incr() {},
    gauge: (name, value) => void gauges.push(`${name} ${value}`),
    timing() {},
    histogram() {},
    close: async () => void closed.push('metrics closed'),
  };
  const captured: string[] = [];
  const flushed: number[] = [];
  const allDeps: PrimaryDeps = {
    verify: async () => {},
    metrics,
    errorReporter: { capture: (err) => void captured.push((err as Error).message), flush: async (ms) => void flushed.push(ms) },
    ...deps,
  };
  const logged = () =>
    lines.map((l) => {
      const { Severity, Fields } = JSON.parse(l) as { Severity: number; Fields: { message: string } };
      return `${SEVERITY[Severity]} ${Fields.message}`;
    });
  return { config, run: () => runPrimary(config, logger, allDeps), logged, gauges, closed, captured, flushed };
}

const flush = () => new Promise((r) => setImmediate(r));
const workers = () => fakeCluster.forked;

describe('primary: start-up', () => {
  it('exits 1 before forking when the start-up checks fail, and reports why', async () => {
    throwOnExit = true;
    const s = setup({}, { verify: async () => Promise.reject(new Error('STORAGE_BUCKET is not set')) });
    await expect(s.run()).rejects.toEqual(new Exit(1));
    expect(exits).toEqual([1]);
    expect(workers()).toHaveLength(0);
    expect(s.logged()).toEqual(['error Unhandled startup exception: STORAGE_BUCKET is not set']);
    expect(s.captured).toEqual(['STORAGE_BUCKET is not set']);
    expect(s.flushed).toEqual([2000]);
  });

  it('exits 1 before forking when the spool directory cannot be used, naming CRASHMOVER_SPOOL_DIR', async () => {
    throwOnExit = true;
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const s = setup({ CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_DIR: file });
    await expect(s.run()).rejects.toEqual(new Exit(1));
    expect(workers()).toHaveLength(0);
    expect(s.logged()).toEqual([expect.stringMatching(new RegExp(`^error Unhandled startup exception: cannot use the spool CRASHMOVER_SPOOL_DIR=${file}: `))]);
  });

  it('forks WORKERS workers with the configured scheduling policy, and announces ready once all of them listen', async () => {
    const s = setup({ WORKERS: '3', CLUSTER_SCHEDULING_POLICY: 'rr', HOST: '127.0.0.1', PORT: '8123' });
    await s.run();
    expect(fakeCluster.schedulingPolicy).toBe(fakeCluster.SCHED_RR);
    expect(workers()).toHaveLength(3);
    expect(s.logged()).toEqual([`info primary ${process.pid} forking 3 workers`]);
    workers()[0]!.listen();
    workers()[1]!.listen();
    expect(mockToParent).toEqual([]);
    workers()[2]!.listen();
    expect(mockToParent).toEqual(['ready']);
    expect(s.logged().at(-1)).toBe('info antenna ready: 3 workers listening on 127.0.0.1:8123');
    // A replacement that listens later is no second announcement.
    fakeCluster.exit(workers()[0]!, null, 'SIGKILL');
    workers()[3]!.listen();
    expect(mockToParent).toEqual(['ready']);
    expect(s.logged().filter((l) => l.includes('antenna ready'))).toHaveLength(1);
  });

  it('uses the `none` scheduling policy by default', async () => {
    const s = setup();
    await s.run();
    expect(fakeCluster.schedulingPolicy).toBe(fakeCluster.SCHED_NONE);
  });

  it('gives the workers a 4 MiB semi-space unless WORKER_MAX_SEMI_SPACE_MB=0, and an initial old space only when WORKER_INITIAL_OLD_SPACE_MB is set', async () => {
    await setup().run();
    expect(fakeCluster.settings.execArgv).toEqual([...process.execArgv, '--max-semi-space-size=4']);
    fakeCluster.reset();
    await setup({ WORKER_INITIAL_OLD_SPACE_MB: '64' }).run();
    expect(fakeCluster.settings.execArgv).toEqual([...process.execArgv, '--max-semi-space-size=4', '--initial-old-space-size=64']);
    fakeCluster.reset();
    await setup({ WORKER_MAX_SEMI_SPACE_MB: '0' }).run();
    expect(fakeCluster.settings.execArgv).toBeUndefined();
  });
});

/** Both workers listen; for `seconds` heartbeats (1 s each) only the second one reports. */
function twoListeningWorkersOnlyTheSecondReporting(seconds: number): [FakeWorker, FakeWorker] {
  const [a, b] = workers() as [FakeWorker, FakeWorker];
  a.listen();
  b.listen();
  for (let i = 0; i < seconds; i++) {
    b.say({ type: 'antenna:report', pid: b.process.pid, saveQueueSize: 0, inFlight: 0 });
    jest.advanceTimersByTime(1000);
  }
  return [a, b];
}

describe('primary: every heartbeat', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));

  it('sends the node-wide save queue as a gauge and the fleet view to every responsive worker', async () => {
    const s = setup({ HEARTBEAT_INTERVAL: '1000' });
    await s.run();
    const [a, b] = workers() as [FakeWorker, FakeWorker];
    a.listen();
    b.listen();
    a.say({ type: 'antenna:report', pid: a.process.pid, saveQueueSize: 2, inFlight: 1 });
    b.say({ type: 'antenna:report', pid: b.process.pid, saveQueueSize: 3, inFlight: 0 });
    jest.advanceTimersByTime(999);
    expect(s.gauges).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(s.gauges).toEqual(['collector.crashmover.save_queue_size 5']);
    const fleet = a.sent.at(-1) as { type: string; saveQueueSize: number; workers: { pid: number }[] };
    expect(fleet.type).toBe('antenna:fleet');
    expect(fleet.saveQueueSize).toBe(5);
    expect(fleet.workers.map((w) => w.pid)).toEqual([a.process.pid, b.process.pid]);
    expect(b.sent.at(-1)).toEqual(fleet);
    await flush();
  });

  it('stops sending the fleet view to a worker that stopped reading it (node would queue every message)', async () => {
    const s = setup({ HEARTBEAT_INTERVAL: '1000', WORKER_TIMEOUT: '0' });
    await s.run();
    const [a, b] = twoListeningWorkersOnlyTheSecondReporting(6);
    const fleetViews = (w: FakeWorker) => w.sent.filter((m) => (m as { type: string }).type === 'antenna:fleet').length;
    expect(fleetViews(b)).toBe(6);
    expect(fleetViews(a)).toBe(3);
    expect(a.signals).toEqual([]);
    await flush();
  });

  it('kills a worker that stopped reporting for longer than WORKER_TIMEOUT', async () => {
    const s = setup({ HEARTBEAT_INTERVAL: '1000', WORKER_TIMEOUT: '5', WORKER_START_TIMEOUT: '5' });
    await s.run();
    const [a, b] = twoListeningWorkersOnlyTheSecondReporting(6);
    expect(a.signals).toEqual(['SIGKILL']);
    expect(b.signals).toEqual([]);
    await flush();
  });
});

describe('primary: signals', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));

  it.each(['SIGTERM', 'SIGINT'] as const)('drains on %s: every worker is asked to shut down, and the primary exits 0 once they have', async (signal) => {
    const s = setup();
    await s.run();
    const [a, b] = workers() as [FakeWorker, FakeWorker];
    a.listen();
    b.listen();
    handler(signal)();
    expect(a.sent).toContainEqual({ type: 'antenna:shutdown' });
    expect(b.sent).toContainEqual({ type: 'antenna:shutdown' });
    fakeCluster.exit(a, 0);
    fakeCluster.exit(b, 0);
    expect(workers()).toHaveLength(2); // not replaced
    for (let i = 0; i < 5; i++) await flush();
    expect(s.closed).toEqual(['metrics closed']);
    expect(exits).toEqual([0]);
    expect(s.logged()).toContain(`info ${signal} received: draining 2 workers (up to 5 s)`);
  });

  it('reloads on SIGHUP: a new worker per old one, each old one retired once its replacement listens', async () => {
    const s = setup({ WORKERS: '1' });
    await s.run();
    const old = workers()[0]!;
    old.listen();
    handler('SIGHUP')();
    expect(workers()).toHaveLength(2);
    workers()[1]!.listen();
    for (let i = 0; i < 3; i++) await flush();
    expect(old.sent).toContainEqual({ type: 'antenna:shutdown' });
    fakeCluster.exit(old, 0);
    for (let i = 0; i < 3; i++) await flush();
    expect(workers()).toHaveLength(2);
    expect(s.logged()).toContain('info reload complete');
  });
});

describe('primary: what the supervisor reports', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));

  it('reports a crash loop while others serve to the error reporter', async () => {
    const s = setup({ WORKERS: '2', CRASH_LOOP_DEATHS: '2' });
    await s.run();
    workers()[0]!.listen();
    workers()[1]!.say({ type: 'antenna:startup-failed', reason: 'cannot reach the bucket' });
    fakeCluster.exit(workers()[1]!, 1);
    jest.advanceTimersByTime(100);
    fakeCluster.exit(workers()[2]!, 1);
    expect(s.captured).toEqual(['workers keep dying at start-up: cannot reach the bucket']);
    expect(exits).toEqual([]);
  });

  it('exits 1 after reporting when workers keep dying at start-up and none listens', async () => {
    const s = setup({ WORKERS: '1', CRASH_LOOP_DEATHS: '2' });
    await s.run();
    fakeCluster.exit(workers()[0]!, 1);
    jest.advanceTimersByTime(100);
    fakeCluster.exit(workers()[1]!, 1);
    expect(s.captured).toEqual(['workers keep dying at start-up: exit code 1']);
    for (let i = 0; i < 3; i++) await flush();
    expect(s.flushed).toEqual([2000]);
    expect(exits).toEqual([1]);
  });

  it('exits 1 when giving up even without an error reporter', async () => {
    const s = setup({ WORKERS: '1', CRASH_LOOP_DEATHS: '2' }, { errorReporter: undefined });
    await s.run();
    fakeCluster.exit(workers()[0]!, 1);
    jest.advanceTimersByTime(100);
    fakeCluster.exit(workers()[1]!, 1);
    for (let i = 0; i < 3; i++) await flush();
    expect(exits).toEqual([1]);
  });

  it('answers a worker’s Prometheus scrape with the node’s metrics, restarts counted', async () => {
    const s = setup({ WORKERS: '1', METRICS_COLLECT_TIMEOUT: '1000' });
    await s.run();
    const a = workers()[0]!;
    a.listen();
    fakeCluster.exit(a, null, 'SIGKILL');
    const b = workers()[1]!;
    b.listen();
    b.say({ type: 'antenna:prom-scrape', id: 9 });
    const collect = b.sent.find((m) => (m as { type: string }).type === 'antenna:prom-collect') as { id: number };
    b.say({ type: 'antenna:prom-json', id: collect.id, metrics: [] });
    await waitFor('the scrape answer', async () => {
      await flush();
      return b.sent.some((m) => (m as { type: string }).type === 'antenna:prom-text');
    });
    const answer = b.sent.find((m) => (m as { type: string }).type === 'antenna:prom-text') as { id: number; text: string };
    expect(answer.id).toBe(9);
    expect(answer.text).toMatch(/^antenna_worker_restarts_total 1$/m);
    expect(answer.text).toMatch(/^antenna_workers\{state="healthy"\} 1$/m);
    expect(s.config.observability.metricsEnabled).toBe(true);
  });

  it('with METRICS_ENABLED=false, leaves other worker messages unanswered', async () => {
    const s = setup({ WORKERS: '1', METRICS_ENABLED: 'false' });
    await s.run();
    const a = workers()[0]!;
    a.listen();
    a.say({ type: 'antenna:prom-scrape', id: 9 });
    fakeCluster.exit(a, null, 'SIGKILL'); // no restart counter to bump: nothing throws
    for (let i = 0; i < 3; i++) await flush();
    expect(a.sent).toEqual([]);
    expect(workers()).toHaveLength(2);
  });
});

describe('primary: the spool', () => {
  // Real timers: the spool lists and moves files on disk.
  it('releases a dead worker’s claimed crashes back to ready/ while the node keeps running', async () => {
    const root = path.join(tempDir(), 'spool');
    const s = setup({ WORKERS: '2', CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_DIR: root, HEARTBEAT_INTERVAL: '60000' });
    await s.run();
    const [a, b] = workers() as [FakeWorker, FakeWorker];
    a.listen();
    b.listen();
    const name = '1700000000000-12-de1bb258-cbbf-4589-a673-000010160918.crash';
    mkdirSync(path.join(root, 'claimed', String(a.process.pid)), { recursive: true });
    writeFileSync(path.join(root, 'claimed', String(a.process.pid), name), 'x');
    fakeCluster.exit(a, null, 'SIGKILL');
    await waitFor('the claim released', () => existsSync(path.join(root, 'ready', name)), 10_000, 20);
    await waitFor('the release logged', () => s.logged().includes(`info spool: released 1 crashes claimed by worker ${a.process.pid}`), 10_000, 20);
    expect(workers()).toHaveLength(3);
    handler('SIGTERM')();
    fakeCluster.exit(b, 0);
    fakeCluster.exit(workers()[2]!, 0);
    await waitFor('the exit', () => exits.length > 0, 10_000, 20);
    expect(exits).toEqual([0]);
    // The leftover report names what is still spooled.
    expect(s.logged().filter((l) => l.includes('still in'))).toEqual([
      `warn spool: 1 crashes (12 bytes) are still in ${root}; they will be moved on the next start`,
    ]);
  });

  it('sends the spool listing with the fleet view, and logs a listing that fails once, and when it works again', async () => {
    const root = path.join(tempDir(), 'spool');
    const s = setup({ WORKERS: '1', CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_DIR: root, HEARTBEAT_INTERVAL: '50' });
    await s.run();
    const a = workers()[0]!;
    a.listen();
    type Fleet = { type: string; spool?: { crashes: number } };
    // The worker keeps reporting, so it stays responsive and gets every fleet view.
    const fleetViews = () => (
      a.say({ type: 'antenna:report', pid: a.process.pid, saveQueueSize: 0, inFlight: 0 }),
      a.sent.filter((m) => (m as Fleet).type === 'antenna:fleet') as Fleet[]
    );
    await waitFor('a fleet view with the spool', () => fleetViews().some((v) => v.spool?.crashes === 0), 10_000, 20);
    rmSync(root, { recursive: true });
    writeFileSync(root, 'not a directory');
    const cannot = () => s.logged().filter((l) => l.startsWith(`error spool: cannot list ${root}`));
    await waitFor('the listing error', () => cannot().length > 0, 10_000, 20);
    const sentBefore = fleetViews().length;
    await waitFor('more ticks', () => fleetViews().length >= sentBefore + 3, 10_000, 20);
    // Still sent every tick, without a spool listing; the error logged once.
    expect(fleetViews().at(-1)!.spool).toBeUndefined();
    expect(cannot()).toHaveLength(1);
    expect(cannot()[0]).toMatch(/check that CRASHMOVER_SPOOL_DIR is a directory this user can read$/);
    rmSync(root);
    mkdirSync(root);
    await waitFor('listed again', () => s.logged().includes(`info spool: ${root} can be listed again`), 10_000, 20);
    await waitFor('a fleet view with the spool again', () => fleetViews().at(-1)!.spool !== undefined, 10_000, 20);
    expect(s.logged().filter((l) => l.includes('can be listed again'))).toHaveLength(1);
    handler('SIGTERM')();
    fakeCluster.exit(a, 0);
    await waitFor('the exit', () => exits.length > 0, 10_000, 20);
  });
});
