import { Counter, Registry } from 'prom-client';
import { createPrimaryPrometheus } from '../../src/primary/prometheus';
import type { PrimaryToWorker, SpoolView } from '../../src/shared/ipc';
import { fakeCluster, type FakeWorker } from '../support/fake-cluster';

jest.mock('node:cluster', () => ({ __esModule: true, default: jest.requireActual('../support/fake-cluster').fakeCluster }));

/** A worker's registry as it sends it to the primary: one counter with `value`. */
async function workerMetrics(value: number) {
  const registry = new Registry();
  new Counter({ name: 'antenna_test_crashes_total', help: 'test', registers: [registry] }).inc(value);
  return registry.getMetricsAsJSON();
}

type Answer = { type: string; id: number; text?: string; error?: string };

function setup(opts: { spool?: () => SpoolView | undefined; collectTimeoutMs?: number } = {}) {
  const prom = createPrimaryPrometheus({
    collectTimeoutMs: opts.collectTimeoutMs ?? 1000,
    workerStates: () => ({ healthy: 3, unresponsive: 1 }),
    spool: opts.spool,
  });
  const answers: Answer[] = [];
  const scrape = (id: number) => prom.onWorkerMessage((msg: PrimaryToWorker) => void answers.push(msg as Answer), { type: 'antenna:prom-scrape', id });
  /** The collect request the primary sent `w`, answered with `value`. */
  const answer = async (w: FakeWorker, value: number) => {
    const req = w.sent.find((m) => (m as { type: string }).type === 'antenna:prom-collect') as { id: number };
    return prom.onWorkerMessage(() => {}, { type: 'antenna:prom-json', id: req.id, metrics: await workerMetrics(value) });
  };
  return { prom, answers, scrape, answer };
}

const flush = () => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean) {
  for (let i = 0; i < 1000 && !cond(); i++) await flush();
  expect(cond()).toBe(true);
}

beforeEach(() => fakeCluster.reset());
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
});

describe('primary Prometheus: a scrape', () => {
  it('sums the workers’ counters and adds the primary’s own metrics, answering the worker that asked with its id', async () => {
    const s = setup();
    const a = fakeCluster.fork();
    const b = fakeCluster.fork();
    s.prom.workerRestarted();
    s.prom.workerRestarted();
    expect(s.scrape(42)).toBe(true);
    expect(a.sent).toEqual([{ type: 'antenna:prom-collect', id: 1 }]);
    expect(b.sent).toEqual([{ type: 'antenna:prom-collect', id: 1 }]);
    expect(await s.answer(a, 2)).toBe(true);
    await flush();
    expect(s.answers).toEqual([]);
    await s.answer(b, 5);
    await until(() => s.answers.length > 0);
    expect(s.answers).toHaveLength(1);
    const [ans] = s.answers as [Answer];
    expect(ans.type).toBe('antenna:prom-text');
    expect(ans.id).toBe(42);
    expect(ans.text).toMatch(/^antenna_test_crashes_total 7$/m);
    expect(ans.text).toMatch(/^antenna_worker_restarts_total 2$/m);
    expect(ans.text).toMatch(/^antenna_workers\{state="healthy"\} 3$/m);
    expect(ans.text).toMatch(/^antenna_workers\{state="unresponsive"\} 1$/m);
    expect((ans as { contentType?: string }).contentType).toMatch(/^text\/plain/);
    // Without a spool, no spool gauges.
    expect(ans.text).not.toMatch(/antenna_spool/);
  });

  it('gives each scrape its own collect id, and ignores an answer for a scrape that is over', async () => {
    const s = setup();
    const a = fakeCluster.fork();
    s.scrape(1);
    await s.answer(a, 1);
    await until(() => s.answers.length === 1);
    a.sent.length = 0;
    s.scrape(2);
    expect(a.sent).toEqual([{ type: 'antenna:prom-collect', id: 2 }]);
    // A late answer to collect 1 neither answers scrape 2 nor counts toward it.
    expect(s.prom.onWorkerMessage(() => {}, { type: 'antenna:prom-json', id: 1, metrics: await workerMetrics(100) })).toBe(true);
    await flush();
    expect(s.answers).toHaveLength(1);
    await s.answer(a, 3);
    await until(() => s.answers.length === 2);
    expect(s.answers[1]!.text).toMatch(/^antenna_test_crashes_total 3$/m);
  });

  it('answers with the primary’s metrics alone when no worker is connected', async () => {
    const s = setup();
    const gone = fakeCluster.fork();
    gone.connected = false;
    s.scrape(3);
    await until(() => s.answers.length === 1);
    expect(gone.sent).toEqual([]);
    expect(s.answers[0]!.text).toMatch(/^antenna_workers\{state="healthy"\} 3$/m);
    expect(s.answers[0]!.text).not.toMatch(/antenna_test_crashes_total/);
  });

  it('leaves out a worker that does not answer within METRICS_COLLECT_TIMEOUT', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    const s = setup({ collectTimeoutMs: 1000 });
    const a = fakeCluster.fork();
    fakeCluster.fork(); // never answers
    s.scrape(4);
    await s.answer(a, 2);
    for (let i = 0; i < 5; i++) await flush();
    jest.advanceTimersByTime(999);
    for (let i = 0; i < 5; i++) await flush();
    expect(s.answers).toEqual([]);
    jest.advanceTimersByTime(1);
    await until(() => s.answers.length === 1);
    expect(s.answers[0]!.text).toMatch(/^antenna_test_crashes_total 2$/m);
  });

  it('does not wait for a worker the request could not reach', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    const s = setup({ collectTimeoutMs: 60_000 });
    const a = fakeCluster.fork();
    const b = fakeCluster.fork();
    b.sendError = new Error('channel closed');
    s.scrape(5);
    await s.answer(a, 4);
    await until(() => s.answers.length === 1);
    expect(s.answers[0]!.text).toMatch(/^antenna_test_crashes_total 4$/m);
  });

  it('answers with the error when the workers’ metrics cannot be merged', async () => {
    const s = setup();
    const a = fakeCluster.fork();
    s.scrape(6);
    const req = a.sent[0] as { id: number };
    s.prom.onWorkerMessage(() => {}, { type: 'antenna:prom-json', id: req.id, metrics: [{ name: 'broken', help: 'x', type: 'nonsense', values: null }] });
    await until(() => s.answers.length === 1);
    expect(s.answers[0]).toEqual({ type: 'antenna:prom-text', id: 6, error: expect.any(String) });
  });

  it('leaves other messages to someone else', () => {
    const s = setup();
    expect(s.prom.onWorkerMessage(() => {}, { type: 'antenna:report', pid: 1, saveQueueSize: 0, inFlight: 0 })).toBe(false);
    expect(s.prom.onWorkerMessage(() => {}, 'ready')).toBe(false);
  });
});

describe('primary Prometheus: the spool gauges', () => {
  it('reports the spool’s last listing: crashes, bytes, limit and the oldest entry’s age', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'], now: 1_700_000_100_000 });
    const s = setup({ spool: () => ({ crashes: 4, bytes: 4096, maxBytes: 1 << 20, oldestSpooledAt: 1_700_000_000_000, scannedAt: 0, claimed: {} }) });
    s.scrape(7);
    await until(() => s.answers.length === 1);
    const text = s.answers[0]!.text!;
    expect(text).toMatch(/^antenna_spool_crashes 4$/m);
    expect(text).toMatch(/^antenna_spool_bytes 4096$/m);
    expect(text).toMatch(/^antenna_spool_max_bytes 1048576$/m);
    expect(text).toMatch(/^antenna_spool_oldest_age_seconds 100$/m);
  });

  it('reports an empty spool’s oldest age as 0, and nothing before the first listing', async () => {
    const listing: { view?: SpoolView } = {};
    const s = setup({ spool: () => listing.view });
    s.scrape(8);
    await until(() => s.answers.length === 1);
    expect(s.answers[0]!.text).not.toMatch(/^antenna_spool_crashes [1-9]/m);
    listing.view = { crashes: 0, bytes: 0, maxBytes: 10, oldestSpooledAt: undefined, scannedAt: 0, claimed: {} };
    s.scrape(9);
    await until(() => s.answers.length === 2);
    expect(s.answers[1]!.text).toMatch(/^antenna_spool_oldest_age_seconds 0$/m);
    expect(s.answers[1]!.text).toMatch(/^antenna_spool_max_bytes 10$/m);
  });
});
