/**
 * What an operator sees of the crashmover: metric names and tags, the log
 * line for each way a save ends, why a crash was refused, and that the
 * health probe runs only while saves fail (and recovers from a hung probe).
 */
import type { Metrics } from '../../../src/shared/metrics';
import type { CrashReport } from '../../../src/shared/crash-report';
import { KindedError } from '../../../src/shared/failure';
import { Crashmover, type CrashmoverOptions } from '../../../src/worker/crashmover/crashmover';
import { SinkRefusal } from '../../../src/worker/crashmover/crash-sink';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { lineLogger } from '../../support/recording';
import { waitFor } from '../../support/wait';

const recordingLogger = lineLogger;

function recordingMetrics() {
  const calls: string[] = [];
  const metrics: Metrics = {
    incr: (n, tags) => void calls.push(`incr ${n}${tags ? ' ' + tags.join(',') : ''}`),
    gauge: (n, v) => void calls.push(`gauge ${n} ${v}`),
    timing: (n) => void calls.push(`timing ${n}`),
    histogram: (n) => void calls.push(`histogram ${n}`),
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

function fakeStorage(save: () => Promise<void>, checkHealth: () => Promise<void> = async () => {}): CrashStorage & { probes: number } {
  const s = {
    name: 'TestStorage',
    probes: 0,
    save,
    verify: async () => {},
    checkHealth: () => {
      s.probes++;
      return checkHealth();
    },
    close: async () => {},
  };
  return s;
}

const publisher = (publish: (id: string) => Promise<void> = async () => {}): CrashPublisher => ({
  name: 'TestPublish',
  publish,
  verify: async () => {},
  checkHealth: async () => {},
  close: async () => {},
});

const opts = (o: Partial<CrashmoverOptions> = {}): CrashmoverOptions => ({
  concurrentCrashmovers: 1,
  maxQueueSize: 1,
  maxAttempts: 2,
  retrySleepSeconds: 0,
  retryAfterSeconds: 17,
  ...o,
});

const noSleep = async () => {};
const tick = () => new Promise((r) => setImmediate(r));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Crashmover: metrics and logs', () => {
  it('times each stage, reports the queue size and logs saved and published', async () => {
    const m = recordingMetrics();
    const log = recordingLogger();
    const mover = new Crashmover(
      opts(),
      fakeStorage(async () => {}),
      publisher(),
      log.logger,
      m.metrics,
    );
    expect(await mover.submit(crash('c1'))).toBe('saved');
    expect(m.calls).toEqual(
      expect.arrayContaining([
        'gauge collector.crashmover.save_queue_size 1',
        'gauge collector.crashmover.save_queue_size 0',
        'timing collector.crashmover.crash_save.time',
        'timing collector.crashmover.crash_publish.time',
        'timing collector.crashmover.crash_handling.time',
        'incr collector.crashmover.save_crash.count',
      ]),
    );
    expect(log.lines).toEqual(['info c1 saved', 'info c1 published']);
  });

  it('tags each retry with what was retried and logs the attempt and cause', async () => {
    let saveFailures = 1;
    let publishFailures = 1;
    const m = recordingMetrics();
    const log = recordingLogger();
    const storage = fakeStorage(async () => {
      if (saveFailures-- > 0) throw new Error('503 slow down');
    });
    const pub = publisher(async () => {
      if (publishFailures-- > 0) throw new Error('topic busy');
    });
    const mover = new Crashmover(opts(), storage, pub, log.logger, m.metrics, noSleep);
    expect(await mover.submit(crash('c1'))).toBe('saved');
    expect(m.calls.filter((c) => c.includes('retry_count'))).toEqual([
      'incr collector.crashmover.retry_count count:save_crash_exception.count',
      'incr collector.crashmover.retry_count count:publish_crash_exception.count',
    ]);
    expect(log.lines).toContain('warn c1: save attempt 1 failed; retrying: 503 slow down');
    expect(log.lines).toContain('warn c1: publish attempt 1 failed; retrying: topic busy');
  });

  it('logs a publish given up on as dropped, with the cause', async () => {
    const log = recordingLogger();
    const pub = publisher(async () => {
      throw new Error('topic gone');
    });
    const mover = new Crashmover(
      opts(),
      fakeStorage(async () => {}),
      pub,
      log.logger,
      recordingMetrics().metrics,
      noSleep,
    );
    expect(await mover.submit(crash('c1'))).toBe('saved');
    expect(log.lines).toContain('error c1: too many errors trying to publish; dropped: topic gone');
  });

  it('names each way a save ends in the log: unstorable, misconfigured, or out of attempts', async () => {
    const cases: Array<[Error, string]> = [
      [
        new KindedError('permanent', 'unserializable', 'cannot write JSON'),
        'error c1: can never be stored (unserializable); refused without retrying: cannot write JSON',
      ],
      [
        new KindedError('configuration', 'bucket_missing', 'no bucket'),
        'error c1: TestStorage is misconfigured (bucket_missing); not retried; dropped: no bucket',
      ],
      [new Error('disk hiccup'), 'error c1: too many errors trying to save; dropped: disk hiccup'],
    ];
    for (const [err, line] of cases) {
      const log = recordingLogger();
      const mover = new Crashmover(
        opts({ probeIntervalMs: 60_000 }),
        fakeStorage(() => Promise.reject(err)),
        publisher(),
        log.logger,
        recordingMetrics().metrics,
        noSleep,
      );
      await mover.submit(crash('c1'));
      await mover.drain();
      expect(log.lines.filter((l) => l.startsWith('error c1'))).toEqual([line]);
    }
  });

  it('logs the start of an outage with the probe interval, and its end with how long it lasted', async () => {
    let down = true;
    const log = recordingLogger();
    const mover = new Crashmover(
      opts({ maxAttempts: 1 }), // default probe interval: 10 s
      fakeStorage(async () => {
        if (down) throw new Error('ENOSPC');
      }),
      publisher(),
      log.logger,
      recordingMetrics().metrics,
    );
    const first = mover.submit(crash('a'));
    const second = mover.submit(crash('b')); // queued before the outage is known
    expect(await first).toBe('failed');
    down = false;
    expect(await second).toBe('saved');
    expect(log.lines).toContain(
      'error TestStorage cannot save crashes (ENOSPC); new crashes get 503 with Retry-After until a save or a health probe (every 10 s) succeeds',
    );
    const recovered = log.lines.map((l) => /^info TestStorage saves crashes again after (\d+) s; accepting crashes$/.exec(l)).find(Boolean);
    expect(Number(recovered![1])).toBeLessThan(60); // seconds, not milliseconds
    await mover.drain();
  });
});

describe('Crashmover: refusals', () => {
  it('a queue_full refusal says by default that the save queue is full', () => {
    const err = new SinkRefusal('queue_full', 5);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SinkRefusal');
    expect(err.message).toBe('the collector is busy (save queue full)');
    expect(err.reason).toBe('queue_full');
    expect(err.retryAfterSeconds).toBe(5);
  });

  it('refuses past the queue bound only while every mover is busy, and counts it as queue_full', async () => {
    const gate = deferred();
    const m = recordingMetrics();
    const mover = new Crashmover(
      opts({ maxQueueSize: 0 }),
      fakeStorage(() => gate.promise),
      publisher(),
      recordingLogger().logger,
      m.metrics,
    );
    const first = mover.submit(crash('a')); // a mover is free: taken although the queue holds nothing
    await tick();
    const refused = await mover.submit(crash('b')).catch((e: unknown) => e);
    expect(refused).toEqual(expect.objectContaining({ reason: 'queue_full', message: 'the collector is busy (save queue full)' }));
    expect(m.calls).toContain('incr collector.crashmover.refused.count reason:queue_full');
    gate.resolve();
    expect(await first).toBe('saved');
  });

  it('says why when refusing during shutdown and during a storage outage', async () => {
    const m = recordingMetrics();
    const failing = new Crashmover(
      opts({ maxAttempts: 1, probeIntervalMs: 60_000 }),
      fakeStorage(() => Promise.reject(new Error('down'))),
      publisher(),
      recordingLogger().logger,
      m.metrics,
    );
    await failing.submit(crash('a'));
    await expect(failing.submit(crash('b'))).rejects.toEqual(
      expect.objectContaining({ reason: 'storage_failing', message: 'the collector cannot save crashes right now (TestStorage is failing)' }),
    );
    await failing.drain();
    await expect(failing.submit(crash('c'))).rejects.toEqual(expect.objectContaining({ reason: 'draining', message: 'the collector is shutting down' }));
    expect(m.calls).toContain('incr collector.crashmover.refused.count reason:draining');
  });
});

describe('Crashmover: drain', () => {
  it('resolves at once when idle', async () => {
    const mover = new Crashmover(
      opts(),
      fakeStorage(async () => {}),
      publisher(),
      recordingLogger().logger,
      recordingMetrics().metrics,
    );
    await expect(mover.drain()).resolves.toBeUndefined();
  });

  it('waits for the crash in flight and the ones queued behind it, not just the first', async () => {
    const gates = [deferred(), deferred()];
    let n = 0;
    const mover = new Crashmover(
      opts(),
      fakeStorage(() => gates[n++]!.promise),
      publisher(),
      recordingLogger().logger,
      recordingMetrics().metrics,
    );
    const a = mover.submit(crash('a'));
    await tick();
    let drained = false;
    const d = mover.drain().then(() => (drained = true)); // one in flight, nothing queued yet
    await tick();
    expect(drained).toBe(false);
    gates[0]!.resolve();
    await a;
    await tick();
    await tick();
    expect(drained).toBe(true);
    await d;

    // Two crashes: the first finishing must not end the drain.
    const gates2 = [deferred(), deferred()];
    let k = 0;
    const mover2 = new Crashmover(
      opts(),
      fakeStorage(() => gates2[k++]!.promise),
      publisher(),
      recordingLogger().logger,
      recordingMetrics().metrics,
    );
    const x = mover2.submit(crash('x'));
    const y = mover2.submit(crash('y'));
    let drained2 = false;
    const d2 = mover2.drain().then(() => (drained2 = true));
    gates2[0]!.resolve();
    await x;
    await tick();
    await tick();
    expect(drained2).toBe(false);
    gates2[1]!.resolve();
    await y;
    await d2;
    expect(drained2).toBe(true);
  });
});

describe('Crashmover: health probes while saves fail', () => {
  const failingMover = (checkHealth: () => Promise<void>, state: { down: boolean }) => {
    const storage = fakeStorage(async () => {
      if (state.down) throw new Error('down');
    }, checkHealth);
    const mover = new Crashmover(opts({ maxAttempts: 1, probeIntervalMs: 10 }), storage, publisher(), recordingLogger().logger, recordingMetrics().metrics);
    return { storage, mover };
  };

  it('keeps probing after a probe fails, and lets crashes through once one passes', async () => {
    const state = { down: true };
    const { storage, mover } = failingMover(async () => {
      if (state.down) throw new Error('still down');
    }, state);
    expect(await mover.submit(crash('a'))).toBe('failed');
    await waitFor('two failed probes', () => storage.probes >= 2, 10_000, 5);
    state.down = false;
    await waitFor('a probe to pass', () => mover.saveFailure === undefined, 10_000, 5);
    expect(await mover.submit(crash('b'))).toBe('saved');
    await mover.drain();
  });

  it('gives up on a probe that hangs and tries again', async () => {
    const state = { down: true };
    let calls = 0;
    const { mover } = failingMover(() => (++calls === 1 ? new Promise<void>(() => {}) : Promise.resolve()), state);
    expect(await mover.submit(crash('a'))).toBe('failed');
    await waitFor('a later probe to pass', () => mover.saveFailure === undefined, 10_000, 5);
    expect(calls).toBeGreaterThanOrEqual(2);
    await mover.drain();
  });

  it('stops probing once saves work again', async () => {
    const state = { down: true };
    const { storage, mover } = failingMover(async () => {}, state);
    expect(await mover.submit(crash('a'))).toBe('failed');
    await waitFor('the outage to end', () => mover.saveFailure === undefined, 10_000, 5);
    const probes = storage.probes;
    await pause(200); // 20 probe intervals
    expect(storage.probes).toBe(probes);
    await mover.drain();
  });

  it('does not start probing when the outage begins during shutdown', async () => {
    const gate = deferred();
    const storage = fakeStorage(async () => {
      await gate.promise;
      throw new Error('down');
    });
    const mover = new Crashmover(opts({ maxAttempts: 1, probeIntervalMs: 5 }), storage, publisher(), recordingLogger().logger, recordingMetrics().metrics);
    const a = mover.submit(crash('a'));
    const d = mover.drain();
    gate.resolve();
    expect(await a).toBe('failed');
    await d;
    await pause(100); // 20 probe intervals
    expect(storage.probes).toBe(0);
  });
});
