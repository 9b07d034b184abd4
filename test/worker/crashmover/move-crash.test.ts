import { Writable } from 'node:stream';
import { KindedError } from '../../../src/shared/failure';
import { createLogger } from '../../../src/shared/logging';
import type { Metrics } from '../../../src/shared/metrics';
import { ONE_ATTEMPT, saveThenPublish, type RetryPolicy } from '../../../src/worker/crashmover/move-crash';

function recording() {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'DEBUG',
    localDevEnv: false,
    hostname: 'test',
    stream: new Writable({
      write: (chunk, _e, cb) => {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
  const metrics: string[] = [];
  const m: Metrics = {
    incr: (n, tags) => metrics.push(`incr ${n}${tags ? ' ' + tags.join(',') : ''}`),
    gauge: (n, v) => metrics.push(`gauge ${n} ${v}`),
    timing: (n) => metrics.push(`timing ${n}`),
    histogram: (n) => metrics.push(`histogram ${n}`),
    close: async () => {},
  };
  return { lines, logger, metrics, m };
}

/** Fails `times` times with `err`, then succeeds; records each call. */
function flaky(times: number, err: unknown = new Error('boom')) {
  const calls: string[] = [];
  let left = times;
  const fn = async () => {
    calls.push('call');
    if (left-- > 0) throw err;
  };
  return { fn, calls };
}

const noSleep: RetryPolicy = { attempts: 3, sleepMs: 1000, sleep: async () => {}, retryable: () => true };

describe('saveThenPublish', () => {
  test('saves, runs afterSave, then publishes, and says so', async () => {
    const r = recording();
    const order: string[] = [];
    const outcome = await saveThenPublish(
      {
        crashId: 'c1',
        save: async () => void order.push('save'),
        afterSave: () => void order.push('afterSave'),
        publish: async () => void order.push('publish'),
      },
      ONE_ATTEMPT,
      r.m,
      r.logger,
    );
    expect(outcome).toEqual({ saved: true, published: true });
    expect(order).toEqual(['save', 'afterSave', 'publish']);
    expect(r.metrics).toEqual(['timing collector.crashmover.crash_save.time', 'timing collector.crashmover.crash_publish.time']);
    expect(r.lines.join('')).toMatch(/c1 saved[\s\S]*c1 published/);
  });

  test('without a save step (already stored) only publishes, and afterSave does not run', async () => {
    const r = recording();
    const afterSave = jest.fn();
    const outcome = await saveThenPublish({ crashId: 'c2', afterSave, publish: async () => {} }, ONE_ATTEMPT, r.m, r.logger);
    expect(outcome).toEqual({ saved: true, published: true });
    expect(afterSave).not.toHaveBeenCalled();
    expect(r.metrics).toEqual(['timing collector.crashmover.crash_publish.time']);
    expect(r.lines.join('')).not.toMatch(/c2 saved/);
  });

  test('a failed save stops the move and comes back with its stage, kind and reason', async () => {
    const r = recording();
    const err = new KindedError('permanent', 'unserializable', 'cannot be stored');
    const publish = jest.fn();
    const outcome = await saveThenPublish({ crashId: 'c3', save: flaky(9, err).fn, publish }, noSleep, r.m, r.logger);
    expect(outcome).toEqual({ saved: false, published: false, failure: { stage: 'save', kind: 'permanent', reason: 'unserializable', error: err } });
    expect(publish).not.toHaveBeenCalled();
  });

  test('a failed publish keeps the save', async () => {
    const r = recording();
    const err = new Error('topic down');
    const outcome = await saveThenPublish({ crashId: 'c4', save: async () => {}, publish: flaky(9, err).fn }, ONE_ATTEMPT, r.m, r.logger);
    expect(outcome).toEqual({ saved: true, published: false, failure: { stage: 'publish', kind: 'transient', reason: 'unknown', error: err } });
    expect(r.lines.join('')).not.toMatch(/c4 published/);
  });

  test('each stage is tried as the policy says, telling onRetry of each retried failure', async () => {
    const r = recording();
    const retried: string[] = [];
    const slept: number[] = [];
    const policy: RetryPolicy = {
      attempts: 3,
      sleepMs: 250,
      sleep: async (ms) => void slept.push(ms),
      retryable: () => true,
      onRetry: (stage, crashId, _err, attempt) => retried.push(`${crashId} ${stage} ${attempt}`),
    };
    const save = flaky(2);
    const publish = flaky(1);
    const outcome = await saveThenPublish({ crashId: 'c5', save: save.fn, publish: publish.fn }, policy, r.m, r.logger);
    expect(outcome).toEqual({ saved: true, published: true });
    expect(save.calls).toHaveLength(3);
    expect(publish.calls).toHaveLength(2);
    expect(retried).toEqual(['c5 save 1', 'c5 save 2', 'c5 publish 1']);
    expect(slept).toEqual([250, 250, 250]);
  });

  test('an error the policy calls not retryable ends the tries at once', async () => {
    const r = recording();
    const save = flaky(9, new KindedError('configuration', 'bucket_missing', 'bucket missing'));
    const outcome = await saveThenPublish({ crashId: 'c6', save: save.fn, publish: async () => {} }, { ...noSleep, retryable: () => false }, r.m, r.logger);
    expect(save.calls).toHaveLength(1);
    expect(outcome.failure).toMatchObject({ stage: 'save', kind: 'configuration', reason: 'bucket_missing' });
  });

  test('ONE_ATTEMPT tries each stage once', async () => {
    const r = recording();
    const save = flaky(1);
    const outcome = await saveThenPublish({ crashId: 'c7', save: save.fn, publish: async () => {} }, ONE_ATTEMPT, r.m, r.logger);
    expect(save.calls).toHaveLength(1);
    expect(outcome.saved).toBe(false);
  });
});
