/**
 * Group commit (src/shared/group-commit.ts, and DirSyncer's window in
 * durable-file.ts): fsyncs requested within a window are issued together, and
 * none of them is acknowledged on the strength of an fsync that started
 * before it was requested. SyncBatch is driven with a fake fsync (a function
 * the test resolves); DirSyncer with the real filesystem seen through
 * test/support/fs-trace, whose holds put a rename in the middle of a running
 * directory fsync.
 */
import { rmSync } from 'node:fs';
import { DirSyncer } from '../../src/shared/dir-syncer';
import { afterWindow, SyncBatch } from '../../src/shared/group-commit';
import { FsTrace } from '../support/fs-trace';
import { tempDir } from '../support/server';
import { waitFor } from '../support/wait';

/** A fake fsync: records when it was issued; the test settles it. */
function fakeSync(log: string[], name: string) {
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  return {
    run: () => {
      log.push(`issued ${name}`);
      return done;
    },
    resolve: () => settle.resolve(),
    reject: (e: Error) => settle.reject(e),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('SyncBatch', () => {
  test('window 0: each fsync is issued at once', () => {
    const log: string[] = [];
    const batch = new SyncBatch(0);
    const a = fakeSync(log, 'a');
    void batch.run(a.run);
    expect(log).toEqual(['issued a']);
  });

  test.each([200, 2000])('window %d µs: fsyncs requested before the window closes are issued together after it, none before', async (windowUs) => {
    const log: string[] = [];
    const batch = new SyncBatch(windowUs);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => fakeSync(log, n));
    const pa = batch.run(a!.run);
    const pb = batch.run(b!.run);
    await Promise.resolve();
    const pc = batch.run(c!.run);
    expect(log).toEqual([]);
    await waitFor('the batch to be issued', () => log.length === 3);
    expect(log.sort()).toEqual(['issued a', 'issued b', 'issued c']);
    // Each call settles with its own fsync: one failing fails only its caller.
    b!.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    a!.resolve();
    c!.resolve();
    await expect(pa).resolves.toBeUndefined();
    await expect(pb).rejects.toThrow('EIO');
    await expect(pc).resolves.toBeUndefined();
  });

  test('a call after the batch was issued waits for the next window', async () => {
    const log: string[] = [];
    const batch = new SyncBatch(200);
    const a = fakeSync(log, 'a');
    void batch.run(a.run);
    await waitFor('the first batch', () => log.length === 1);
    const b = fakeSync(log, 'b');
    void batch.run(b.run);
    expect(log).toEqual(['issued a']);
    await waitFor('the second batch', () => log.length === 2);
  });

  test('afterWindow: 0 runs at once, under 1000 µs after the current event-loop turn', async () => {
    const order: string[] = [];
    afterWindow(0, () => order.push('0'));
    afterWindow(500, () => order.push('500'));
    order.push('sync');
    expect(order).toEqual(['0', 'sync']);
    await turn();
    expect(order).toEqual(['0', 'sync', '500']);
  });
});

describe('DirSyncer with a window', () => {
  let dir: string;
  let trace: FsTrace;
  beforeEach(() => {
    dir = tempDir('group-commit-');
    trace = new FsTrace().install();
  });
  afterEach(() => {
    trace.restore();
    rmSync(dir, { recursive: true, force: true });
  });

  test('callers within one window share one fsync, which starts after the last of them called', async () => {
    const syncer = new DirSyncer(32, { windowUs: 200 });
    try {
      await syncer.sync(dir); // opens the directory
      const before = trace.ok('sync').length;
      const calls = [syncer.sync(dir), syncer.sync(dir)];
      await Promise.resolve();
      const lastCall = trace.mark();
      calls.push(syncer.sync(dir));
      await Promise.all(calls);
      const syncs = trace.ok('sync').slice(before);
      expect(syncs).toHaveLength(1);
      expect(syncs[0]!.start).toBeGreaterThan(lastCall);
    } finally {
      await syncer.close();
    }
  });

  test.each([0, 200])('window %d µs: a caller that arrives while an fsync runs is answered only after one that started after its call', async (windowUs) => {
    const syncer = new DirSyncer(32, { windowUs });
    try {
      await syncer.sync(dir);
      const release = trace.hold((c) => c.op === 'sync');
      const first = syncer.sync(dir);
      // The first round's fsync has started (and is held): a rename finishing now is not covered by it.
      await waitFor("the first round's fsync to start", () => trace.calls.some((c) => c.op === 'sync' && c.end === undefined));
      const renamed = trace.mark();
      let answered: number | undefined;
      const second = syncer.sync(dir).then(() => (answered = trace.mark()));
      await turn();
      expect(answered).toBeUndefined();
      release();
      await Promise.all([first, second]);
      const covering = trace.ok('sync').filter((c) => c.start > renamed);
      expect(covering.length).toBeGreaterThanOrEqual(1);
      expect(covering[0]!.end!).toBeLessThan(answered!);
    } finally {
      await syncer.close();
    }
  });
});
