import { createLogger } from '../../../src/shared/logging';
import type { Metrics } from '../../../src/shared/metrics';
import type { CrashReport } from '../../../src/shared/crash-report';
import { Crashmover, type CrashmoverOptions } from '../../../src/worker/crashmover/crashmover';
import { SinkRefusal } from '../../../src/worker/crashmover/crash-sink';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { Writable } from 'node:stream';
import { KindedError } from '../../../src/shared/failure';
import { waitFor } from '../../support/wait';
import { exactMetrics } from '../../support/recording';

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
    await expect(mover.submit(crash('e'))).rejects.toMatchObject({ name: 'SinkRefusal', reason: 'queue_full', retryAfterSeconds: 17 });
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

  it('retries a failed save and succeeds: each retry counted with Antenna’s exact tag, the crash saved and counted once', async () => {
    let failures = 2;
    let attempts = 0;
    const b = backends(async () => {
      attempts++;
      if (failures-- > 0) throw new Error('503');
    });
    const m = exactMetrics();
    const mover = new Crashmover(opts(), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('x'))).toBe('saved');
    expect(attempts).toBe(3);
    expect(b.saved).toEqual(['x']);
    expect(b.published).toEqual(['x']);
    const retry = { type: 'c', value: 1, tags: ['count:save_crash_exception.count'] };
    expect(m.named('collector.crashmover.retry_count')).toEqual([retry, retry]);
    expect(m.named('collector.crashmover.save_crash.count')).toEqual([{ type: 'c', value: 1, tags: undefined }]);
    expect(m.named('collector.crashmover.crash_save.time').map((c) => c.type)).toEqual(['ms', 'ms', 'ms']);
    expect(m.named('collector.crashmover.save_crash_dropped.count')).toEqual([]);
  });

  it.each([2, 4])('publish fails %i−1 times, then succeeds: published once, saved counted once, each retry with its exact tag', async (N) => {
    let publishAttempts = 0;
    const sleeps: number[] = [];
    const b = backends(
      async () => {},
      async () => {
        if (++publishAttempts < N) throw new Error('UNAVAILABLE');
      },
    );
    const m = exactMetrics();
    const mover = new Crashmover(opts({ maxAttempts: N, retrySleepSeconds: 1 }), b.storage, b.publisher, silent, m.metrics, async (ms) => {
      sleeps.push(ms);
    });
    expect(await mover.submit(crash('x'))).toBe('saved');
    expect(publishAttempts).toBe(N);
    expect(b.published).toEqual(['x']);
    expect(b.saved).toEqual(['x']);
    expect(sleeps).toEqual(Array(N - 1).fill(1000));
    expect(m.named('collector.crashmover.retry_count')).toEqual(Array(N - 1).fill({ type: 'c', value: 1, tags: ['count:publish_crash_exception.count'] }));
    expect(m.named('collector.crashmover.save_crash.count')).toEqual([{ type: 'c', value: 1, tags: undefined }]);
    expect(m.named('collector.crashmover.publish_crash_dropped.count')).toEqual([]);
    expect(m.named('collector.crashmover.crash_publish.time').map((c) => c.type)).toEqual(Array(N).fill('ms'));
    expect(m.named('collector.crashmover.crash_handling.time').map((c) => c.type)).toEqual(['ms']);
  });

  it('says it is done with the bytes only after a save that succeeded at its first try (a failed try may still be sending them)', async () => {
    const cases: Array<[string, () => Promise<void>, boolean]> = [];
    let failOnce = true;
    cases.push(['first try', async () => {}, true]);
    cases.push([
      'second try',
      async () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('503');
        }
      },
      false,
    ]);
    cases.push([
      'never',
      async () => {
        throw new Error('down');
      },
      false,
    ]);
    for (const [name, save, expected] of cases) {
      let done = 0;
      const b = backends(save);
      const mover = new Crashmover(opts(), b.storage, b.publisher, silent, recordingMetrics().metrics);
      await mover.submit({ ...crash('x'), doneWithBytes: () => done++ });
      expect([name, done]).toEqual([name, expected ? 1 : 0]);
    }
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
    const b = backends(
      async () => {},
      async () => {
        throw new Error('topic gone');
      },
    );
    const m = recordingMetrics();
    const mover = new Crashmover(opts(), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('x'))).toBe('saved');
    expect(b.saved).toEqual(['x']);
    expect(m.calls).toContain('incr collector.crashmover.publish_crash_dropped.count');
    expect(m.calls).not.toContain('incr collector.crashmover.save_crash.count');
    expect(m.calls.filter((c) => c.startsWith('incr collector.crashmover.retry_count'))).toEqual([
      'incr collector.crashmover.retry_count count:publish_crash_exception.count',
      'incr collector.crashmover.retry_count count:publish_crash_exception.count',
    ]);
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
    await expect(mover.submit(crash('c'))).rejects.toMatchObject({ name: 'SinkRefusal', reason: 'draining' });
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

  it('does not retry a permanent failure: answers unstorable at once, counts it by kind, and keeps accepting', async () => {
    let calls = 0;
    const b = backends(async (c) => {
      calls++;
      if (c.crashId === 'poison') throw new KindedError('permanent', 'unserializable', 'poison: the raw crash cannot be written as JSON');
    });
    const m = recordingMetrics();
    const mover = new Crashmover(opts({ maxAttempts: 5, retrySleepSeconds: 2 }), b.storage, b.publisher, silent, m.metrics, async () => {
      throw new Error('must not sleep: nothing to retry');
    });
    expect(await mover.submit(crash('poison'))).toBe('unstorable');
    expect(calls).toBe(1);
    expect(m.calls).toContain('incr collector.crashmover.save_failure.count kind:permanent,reason:unserializable');
    expect(m.calls.filter((c) => c.includes('retry_count'))).toEqual([]);
    expect(mover.saveFailure).toBeUndefined();
    expect(await mover.submit(crash('normal'))).toBe('saved');
  });

  it('does not retry a configuration failure per crash, and treats storage as failing', async () => {
    let calls = 0;
    const b = backends(async () => {
      calls++;
      throw new KindedError('configuration', 'bucket_missing', 'bucket crashes does not exist');
    });
    const m = recordingMetrics();
    const mover = new Crashmover(opts({ maxAttempts: 5 }), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('a'))).toBe('failed');
    expect(calls).toBe(1);
    expect(m.calls).toContain('incr collector.crashmover.save_failure.count kind:configuration,reason:bucket_missing');
    expect(mover.saveFailure).toEqual(expect.objectContaining({ kind: 'configuration', reason: 'bucket_missing', message: 'bucket crashes does not exist' }));
  });

  it('once saves fail, refuses new crashes at once with Retry-After, until a health probe passes', async () => {
    const state = { down: true };
    let saves = 0;
    const b = backends(async () => {
      saves++;
      if (state.down) throw new Error("ENOTDIR: not a directory, open '/srv/crashes/v1/dump/x'");
    });
    b.storage.checkHealth = async () => {
      if (state.down) throw new Error('cannot save under /srv/crashes/v1/dump: ENOTDIR');
    };
    const m = recordingMetrics();
    const mover = new Crashmover(opts({ maxAttempts: 3, probeIntervalMs: 20 }), b.storage, b.publisher, silent, m.metrics);
    expect(await mover.submit(crash('first'))).toBe('failed');
    expect(saves).toBe(3);
    expect(mover.saveFailure).toEqual(expect.objectContaining({ kind: 'transient', message: expect.stringContaining('/srv/crashes/v1/dump') }));

    const refused = await mover.submit(crash('second')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SinkRefusal);
    expect(refused).toMatchObject({ reason: 'storage_failing', retryAfterSeconds: 17 });
    expect(saves).toBe(3); // refused without touching storage
    expect(m.calls).toContain('incr collector.crashmover.refused.count reason:storage_failing');

    state.down = false;
    await waitFor('the probe to see storage work again', () => mover.saveFailure === undefined, 10_000, 10);
    expect(await mover.submit(crash('third'))).toBe('saved');
    await mover.drain();
  });

  it('a successful save ends the outage too', async () => {
    let fail = true;
    const b = backends(async () => {
      if (fail) throw new Error('503');
    });
    b.storage.checkHealth = async () => {};
    const mover = new Crashmover(
      opts({ maxAttempts: 1, probeIntervalMs: 60_000, concurrentCrashmovers: 1 }),
      b.storage,
      b.publisher,
      silent,
      recordingMetrics().metrics,
    );
    // Two crashes queued before the outage is known: the second one's save works and ends it.
    const first = mover.submit(crash('a'));
    const second = mover.submit(crash('b'));
    expect(await first).toBe('failed');
    fail = false;
    expect(await second).toBe('saved');
    expect(mover.saveFailure).toBeUndefined();
    expect(await mover.submit(crash('c'))).toBe('saved');
    await mover.drain();
  });
});
