import { createLogger } from '../../../src/shared/logging';
import type { Metrics } from '../../../src/shared/metrics';
import type { CrashReport } from '../../../src/shared/crash-report';
import { Crashmover, type CrashmoverOptions } from '../../../src/worker/crashmover/crashmover';
import { QueueFullError } from '../../../src/worker/crashmover/crash-sink';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { Writable } from 'node:stream';

const silent = createLogger({ level: 'CRITICAL', localDevEnv: false, hostname: 'test', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function recordingMetrics() {
  const calls: string[] = [];
  const metrics: Metrics = {
    incr: (n, tags) => calls.push(`incr ${n}${tags ? ' ' + tags.join(',') : ''}`),
    gauge: (n, v) => calls.push(`gauge ${n} ${v}`),
    timing: (n) => calls.push(`timing ${n}`),
    histogram: (n) => calls.push(`histogram ${n}`),
    close: async () => {},
  };
  return { calls, metrics };
}

const crash = (id: string): CrashReport => ({ crashId: id, rawCrash: {}, dumps: new Map() });

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function backends(saveImpl: (c: CrashReport) => Promise<void>, publishImpl: (id: string) => Promise<void> = async () => {}) {
  const saved: string[] = [];
  const published: string[] = [];
  const storage: CrashStorage = {
    name: 'Test',
    save: async (c) => {
      await saveImpl(c);
      saved.push(c.crashId);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  const publisher: CrashPublisher = {
    name: 'TestPublish',
    publish: async (id) => {
      await publishImpl(id);
      published.push(id);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  return { storage, publisher, saved, published };
}

const opts = (o: Partial<CrashmoverOptions> = {}): CrashmoverOptions => ({
  concurrentCrashmovers: 2,
  maxQueueSize: 2,
  maxAttempts: 3,
  retrySleepSeconds: 0,
  retryAfterSeconds: 17,
  ...o,
});

describe('Crashmover', () => {
  it('saves at most N at once, queues the rest FIFO, and refuses past the queue bound', async () => {
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const started: string[] = [];
    const b = backends(async (c) => {
      started.push(c.crashId);
      const g = deferred();
      gates.set(c.crashId, g);
      await g.promise;
    });
    const mover = new Crashmover(opts(), b.storage, b.publisher, silent, recordingMetrics().metrics);
    const results = ['a', 'b', 'c', 'd'].map((id) => mover.submit(crash(id)));
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b']);
    expect(mover.inFlight).toBe(2);
    expect(mover.queueSize).toBe(2);
    await expect(mover.submit(crash('e'))).rejects.toEqual(new QueueFullError(17));
    gates.get('a')!.resolve();
    await results[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'c']);
    for (const id of ['b', 'c']) gates.get(id)!.resolve();
    await new Promise((r) => setImmediate(r));
    gates.get('d')!.resolve();
    expect(await Promise.all(results)).toEqual(['saved', 'saved', 'saved', 'saved']);
    expect(b.published).toEqual(['a', 'b', 'c', 'd']);
    expect(mover.handled).toBe(4);
  });

  it('retries a failed save and succeeds', async () => {
    let failures = 2;
    const b = backends(async () => {
      if (failures-- > 0) throw new Error('503');
    });
    const m = recordingMetrics();
    const mover = new Crashmover(opts(), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('x'))).toBe('saved');
    expect(m.calls.filter((c) => c.startsWith('incr collector.crashmover.retry_count'))).toHaveLength(2);
    expect(m.calls).toContain('incr collector.crashmover.save_crash.count');
  });

  it('gives up after the last attempt: failed, counted as dropped, not published', async () => {
    const sleeps: number[] = [];
    const b = backends(async () => {
      throw new Error('down');
    });
    const m = recordingMetrics();
    const mover = new Crashmover(opts({ retrySleepSeconds: 2 }), b.storage, b.publisher, silent, m.metrics, async (ms) => {
      sleeps.push(ms);
    });
    expect(await mover.submit(crash('x'))).toBe('failed');
    expect(sleeps).toEqual([2000, 2000]);
    expect(m.calls).toContain('incr collector.crashmover.save_crash_dropped.count');
    expect(b.published).toEqual([]);
  });

  it('still reports saved when publishing fails every attempt', async () => {
    const b = backends(async () => {}, async () => {
      throw new Error('topic gone');
    });
    const m = recordingMetrics();
    const mover = new Crashmover(opts(), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('x'))).toBe('saved');
    expect(b.saved).toEqual(['x']);
    expect(m.calls).toContain('incr collector.crashmover.publish_crash_dropped.count');
    expect(m.calls).not.toContain('incr collector.crashmover.save_crash.count');
  });

  it('drain waits for queued work and then refuses new crashes', async () => {
    const g = deferred();
    const b = backends(() => g.promise);
    const mover = new Crashmover(opts({ concurrentCrashmovers: 1 }), b.storage, b.publisher, silent, recordingMetrics().metrics);
    const r1 = mover.submit(crash('a'));
    const r2 = mover.submit(crash('b'));
    let drained = false;
    const d = mover.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    await expect(mover.submit(crash('c'))).rejects.toBeInstanceOf(QueueFullError);
    g.resolve();
    await d;
    expect(await Promise.all([r1, r2])).toEqual(['saved', 'saved']);
    expect(b.saved).toEqual(['a', 'b']);
  });

  it('a bug outside the backends (metrics throwing) answers failed and frees the slot for the next crash', async () => {
    const b = backends(async () => {});
    const m = recordingMetrics();
    let broken = true;
    const metrics: Metrics = {
      ...m.metrics,
      timing: (n, ms, t) => {
        if (broken) throw new Error('metrics bug');
        m.metrics.timing(n, ms, t);
      },
    };
    const mover = new Crashmover(opts({ concurrentCrashmovers: 1 }), b.storage, b.publisher, silent, metrics);
    expect(await mover.submit(crash('a'))).toBe('failed');
    broken = false;
    expect(await mover.submit(crash('b'))).toBe('saved');
    await new Promise((r) => setImmediate(r));
    expect(mover.inFlight).toBe(0);
    expect(mover.handled).toBe(2);
  });
});
