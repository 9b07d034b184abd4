/**
 * The spool as an operator sees it: where a new entry goes (claimed or
 * ready/), how full it counts itself, the metrics and log lines of an outage
 * and its end, and what is set aside in corrupt/ (an undecodable entry, a
 * publish that can never succeed) or refused (a crash that cannot be encoded).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import { KindedError } from '../../../src/shared/failure';
import { entryFileName, spoolPaths } from '../../../src/shared/spool/layout';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { SpoolSink, type SpoolOptions } from '../../../src/worker/spool/spool-sink';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { testCrash } from '../../support/crashes';
import { lineLogger, recordingMetrics } from '../../support/recording';
import { waitFor } from '../../support/wait';
import { testSpoolOptions } from '../../support/spool';

const crash = testCrash;

const recording = () => ({ ...lineLogger(), ...recordingMetrics() });

function backends() {
  const state = { save: async (_c: CrashReport) => {}, publish: async (_id: string) => {} };
  const saved: string[] = [];
  const published: string[] = [];
  const storage: CrashStorage = {
    name: 'TestStorage',
    save: async (c) => {
      await state.save(c);
      saved.push(c.crashId);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  const publisher: CrashPublisher = {
    name: 'TestPublisher',
    publish: async (id) => {
      await state.publish(id);
      published.push(id);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  return { storage, publisher, state, saved, published };
}

let root: string;
const sinks: SpoolSink[] = [];
beforeEach(() => {
  root = path.join(mkdtempSync(path.join(os.tmpdir(), 'antenna-spool-signals-')), 'spool');
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
});

async function sink(b: ReturnType<typeof backends>, r: ReturnType<typeof recording>, over: Partial<SpoolOptions> = {}) {
  const s = new SpoolSink(testSpoolOptions(spoolPaths(root), { owner: 4242, ...over }), b.storage, b.publisher, r.logger, r.metrics);
  await s.start();
  sinks.push(s);
  return s;
}

const until = (what: string, fn: () => boolean) => waitFor(what, fn, 15_000, 10);

describe('spool: where entries go', () => {
  it('claims new entries for this worker up to maxClaimed, then leaves them in ready/ for any worker', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 0, maxClaimed: 1 }); // no movers: entries stay put
    const first = crash();
    const second = crash();
    expect(await s.submit(first)).toBe('saved');
    expect(await s.submit(second)).toBe('saved');
    const paths = spoolPaths(root);
    expect(readdirSync(paths.claimedBy(4242)).map((f) => f.includes(first.crashId))).toEqual([true]);
    expect(readdirSync(paths.ready).map((f) => f.includes(second.crashId))).toEqual([true]);
    expect(s.queueSize).toBe(1);
    expect(s.inFlight).toBe(0);
    expect(s.retryAfterSeconds).toBe(7);
  });

  it('counts its own writes on top of the last listing, forgets those the listing has seen, and keeps 1 MiB of headroom', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 0, maxBytes: 3 * 1024 * 1024 });
    expect(s.usedBytes()).toBe(0);
    const before = Date.now();
    await s.submit(crash(1000));
    const written = s.usedBytes();
    expect(written).toBeGreaterThan(1000);
    s.updateStats({ crashes: 5, bytes: 2 * 1024 * 1024, oldestSpooledAt: 1, claimed: {}, scannedAt: before - 1 });
    expect(s.usedBytes()).toBe(2 * 1024 * 1024 + written); // the write came after the listing began
    expect(s.isFull()).toBe(true); // 2 MiB + a write + 1 MiB headroom > 3 MiB
    s.updateStats({ crashes: 6, bytes: 1024 * 1024, oldestSpooledAt: 1, claimed: {}, scannedAt: Date.now() + 1 });
    expect(s.usedBytes()).toBe(1024 * 1024); // this listing includes the write
    expect(s.isFull()).toBe(false); // exactly 1 MiB + 1 MiB headroom left free
    s.updateStats({ crashes: 6, bytes: 2 * 1024 * 1024, oldestSpooledAt: 1, claimed: {}, scannedAt: Date.now() + 1 });
    expect(s.isFull()).toBe(false); // 2 MiB + 1 MiB headroom is not more than 3 MiB
  });
});

describe('spool: refusals', () => {
  it('answers unstorable, and counts and logs it, for a crash that cannot be encoded', async () => {
    const r = recording();
    const s = await sink(backends(), r);
    const bad = crash();
    bad.rawCrash.big = BigInt(1); // JSON.stringify throws
    expect(await s.submit(bad)).toBe('unstorable');
    expect(r.counted).toContain('collector.crashmover.save_failure.count kind:permanent,reason:unserializable');
    expect(r.lines.some((l) => l.startsWith(`error ${bad.crashId}: cannot be spooled (unserializable); refused: `))).toBe(true);
    expect(s.usedBytes()).toBe(0);
  });

  it('names the reason when refusing: write_error when the spool cannot be written, draining at shutdown', async () => {
    const r = recording();
    const s = await sink(backends(), r, { concurrentMovers: 0 });
    const paths = spoolPaths(root);
    const rejected = crash();
    // tmp/ replaced by a file: the write fails.
    rmSync(paths.tmp, { recursive: true });
    writeFileSync(paths.tmp, 'in the way');
    await expect(s.submit(rejected)).rejects.toEqual(
      expect.objectContaining({ reason: 'write_error', why: 'the crash could not be stored locally', retryAfterSeconds: 7 }),
    );
    expect(r.counted).toContain('collector.spool.refused.count reason:write_error');
    expect(r.lines.some((l) => l.startsWith(`error ${rejected.crashId}: cannot write to the spool ${root}: `))).toBe(true);
    void s.drain();
    await expect(s.submit(crash())).rejects.toEqual(expect.objectContaining({ reason: 'draining', why: 'the collector is shutting down' }));
    expect(r.counted).toContain('collector.spool.refused.count reason:draining');
  });
});

describe('spool: outages', () => {
  it('logs the start of a storage outage once, backs off, then counts the moves and logs the recovery', async () => {
    const b = backends();
    const r = recording();
    let down = true;
    b.state.save = async () => {
      if (down) throw new Error('storage down');
    };
    const s = await sink(b, r);
    const c = crash();
    const before = Date.now();
    await s.submit(c);
    await until('two failed saves', () => r.counted.filter((x) => x === 'collector.spool.move_failed.count operation:save').length >= 2);
    expect(s.outageSince).toBeGreaterThanOrEqual(before);
    expect(r.counted).toContain('collector.crashmover.retry_count count:save_crash_exception.count');
    expect(r.lines.filter((l) => l.includes('cannot save'))).toEqual([
      `error TestStorage cannot save (${c.crashId}: storage down); crashes are kept in the spool and retried with back-off`,
    ]);
    expect(r.lines).toContain(`debug ${c.crashId}: save failed again: storage down`);
    down = false;
    await until('moved', () => b.published.includes(c.crashId));
    await until('counted', () => r.counted.includes('collector.spool.moved.count'));
    expect(r.counted).toContain('collector.crashmover.save_crash.count');
    expect(s.outageSince).toBeUndefined();
    const recovered = r.lines.map((l) => /^info storage and publishing work again after (\d+) s; moving the spooled crashes$/.exec(l)).find(Boolean);
    expect(Number(recovered![1])).toBeLessThan(60); // seconds, not milliseconds
    expect(r.lines).toContain(`info ${c.crashId} saved`);
    expect(r.lines).toContain(`info ${c.crashId} published`);
    await until('handled', () => s.handled === 1);
  });

  it('names the publisher when publishing fails, and does not save the crash again', async () => {
    const b = backends();
    const r = recording();
    let down = true;
    b.state.publish = async () => {
      if (down) throw new Error('queue down');
    };
    const s = await sink(b, r);
    const c = crash();
    await s.submit(c);
    await until('a failed publish', () => r.counted.includes('collector.spool.move_failed.count operation:publish'));
    expect(r.counted).toContain('collector.crashmover.retry_count count:publish_crash_exception.count');
    expect(r.lines).toContain(`error TestPublisher cannot publish (${c.crashId}: queue down); crashes are kept in the spool and retried with back-off`);
    down = false;
    await until('published', () => b.published.includes(c.crashId));
    expect(b.saved).toEqual([c.crashId]);
  });

  it('waits out the back-off, growing exponentially up to the cap, before trying again', async () => {
    const b = backends();
    const attempts: number[] = [];
    b.state.save = async () => {
      attempts.push(Date.now());
      throw new Error('storage down');
    };
    const s = await sink(b, recording(), { backoffBaseMs: 100, backoffMaxMs: 400, idleScanMs: 5 });
    await s.submit(crash());
    await until('five attempts', () => attempts.length >= 5);
    const gaps = attempts.slice(1, 5).map((t, i) => t - attempts[i]!);
    // At least 100, 200, 400, 400 ms apart (never sooner; later is fine on a busy machine).
    expect(gaps.map((g, i) => g >= [100, 200, 400, 400][i]! - 5)).toEqual([true, true, true, true]);
  });
});

describe('spool: entries set aside', () => {
  it('moves an undecodable entry to corrupt/ and counts it as corrupt', async () => {
    const b = backends();
    const r = recording();
    const paths = spoolPaths(root);
    mkdirSync(paths.ready, { recursive: true });
    const name = entryFileName({ spooledAt: Date.now(), bytes: 9, crashId: crash().crashId, state: 'crash' });
    writeFileSync(path.join(paths.ready, name), 'not a spool entry');
    await sink(b, r);
    await until('set aside', () => existsSync(path.join(root, 'corrupt', name)));
    await until('counted', () => r.counted.includes('collector.spool.corrupt.count'));
    expect(r.counted.some((c) => c.startsWith('collector.spool.quarantined.count reason:'))).toBe(true);
    expect(b.saved).toEqual([]);
  });

  it('moves an entry whose publish can never succeed to corrupt/, without backing off', async () => {
    const b = backends();
    const r = recording();
    const doomed = crash();
    b.state.publish = async (id) => {
      if (id === doomed.crashId) throw new KindedError('permanent', 'rejected', 'the queue refuses this message');
    };
    const s = await sink(b, r);
    await s.submit(doomed);
    await until('set aside', () => existsSync(path.join(root, 'corrupt')) && readdirSync(path.join(root, 'corrupt')).some((f) => f.includes(doomed.crashId)));
    expect(r.counted).toContain('collector.spool.quarantined.count reason:rejected');
    expect(r.counted).not.toContain('collector.spool.corrupt.count');
    expect(s.outageSince).toBeUndefined();
  });

  it('expires an entry past the maximum age: deleted, counted and logged with its age', async () => {
    const b = backends();
    const r = recording();
    const paths = spoolPaths(root);
    mkdirSync(paths.ready, { recursive: true });
    const old = crash();
    const name = entryFileName({ spooledAt: Date.now() - 125_000, bytes: 9, crashId: old.crashId, state: 'crash' });
    writeFileSync(path.join(paths.ready, name), 'never read');
    const s = await sink(b, r, { maxAgeMs: 60_000 });
    await until('expired', () => r.counted.includes('collector.spool.expired.count'));
    expect(r.lines.find((l) => l.includes('expired'))).toMatch(
      new RegExp(`^error ${old.crashId}: expired after 12[5-9] s in the spool \\(CRASHMOVER_SPOOL_MAX_AGE\\); deleted without being saved$`),
    );
    await until('handled', () => s.handled === 1);
    expect(readdirSync(paths.claimedBy(4242))).toEqual([]);
  });
});
