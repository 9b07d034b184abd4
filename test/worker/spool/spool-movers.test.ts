/**
 * The spool's movers as an operator sees them: how many crashes a worker takes
 * from ready/ and in which order, how many it moves at once, how promptly it
 * moves a new crash or retries after a short back-off, when a drain ends, and
 * what happens to entries whose file misbehaves (gone, not a file, no corrupt/
 * to put them in). Storage saves can be held open to look at the spool while
 * a move is in flight.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import { encodeEntry } from '../../../src/shared/spool/entry-codec';
import { entryFileName, spoolPaths, type SpoolPaths } from '../../../src/shared/spool/layout';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { SpoolSink, type SpoolOptions } from '../../../src/worker/spool/spool-sink';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { testCrash } from '../../support/crashes';
import { lineLogger, recordingMetrics } from '../../support/recording';
import { sleep, waitFor } from '../../support/wait';
import { testSpoolOptions } from '../../support/spool';

const OWNER = 4343;

const crash = testCrash;

const recording = () => ({ ...lineLogger(), ...recordingMetrics() });

/** Storage whose saves can be held open (`hold = true`) until `release()`; a publisher that records. */
function backends() {
  const saved: string[] = [];
  const started: string[] = [];
  const published: string[] = [];
  let held: Array<() => void> = [];
  const state = {
    hold: false,
    saveFailures: 0,
    publish: async (_id: string) => {},
  };
  const storage: CrashStorage = {
    name: 'TestStorage',
    async save(c) {
      started.push(c.crashId);
      if (state.hold) await new Promise<void>((r) => held.push(r));
      if (state.saveFailures > 0) {
        state.saveFailures--;
        throw new Error('storage down');
      }
      saved.push(c.crashId);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  const publisher: CrashPublisher = {
    name: 'TestPublisher',
    async publish(id) {
      await state.publish(id);
      published.push(id);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  const release = () => {
    state.hold = false;
    for (const r of held.splice(0)) r();
    held = [];
  };
  return { storage, publisher, state, saved, started, published, release };
}

let root: string;
let paths: SpoolPaths;
const sinks: Array<{ sink: SpoolSink; release: () => void }> = [];
beforeEach(() => {
  root = path.join(mkdtempSync(path.join(os.tmpdir(), 'antenna-spool-movers-')), 'spool');
  paths = spoolPaths(root);
});
afterEach(async () => {
  for (const s of sinks) s.release();
  await Promise.all(sinks.splice(0).map((s) => s.sink.stop()));
  rmSync(path.dirname(root), { recursive: true, force: true });
});

async function sink(b: ReturnType<typeof backends>, r: ReturnType<typeof recording>, over: Partial<SpoolOptions> = {}) {
  const s = new SpoolSink(testSpoolOptions(paths, { owner: OWNER, ...over }), b.storage, b.publisher, r.logger, r.metrics);
  await s.start();
  sinks.push({ sink: s, release: b.release });
  return s;
}

/** Puts a complete entry for `c` in ready/, as another worker (or an earlier run) would leave it. */
function inReady(c: CrashReport, spooledAt = Date.now()): string {
  mkdirSync(paths.ready, { recursive: true });
  const parts = encodeEntry(c);
  const name = entryFileName({ spooledAt, bytes: parts.reduce((x, p) => x + p.length, 0), crashId: c.crashId, state: 'crash' });
  writeFileSync(path.join(paths.ready, name), Buffer.concat(parts));
  return name;
}

const until = (what: string, fn: () => boolean, ms = 15_000) => waitFor(what, fn, ms, 10);
const claimedFiles = () => (existsSync(paths.claimedBy(OWNER)) ? readdirSync(paths.claimedBy(OWNER)) : []);

describe('spool movers: taking entries from ready/', () => {
  it('claims no more entries than its movers take at once, leaving the rest in ready/ for other workers', async () => {
    const b = backends();
    b.state.hold = true;
    const names = [crash(), crash(), crash(), crash()].map((c) => inReady(c));
    await sink(b, recording(), { concurrentMovers: 2 });
    await until('two saves in flight', () => b.started.length === 2);
    await sleep(100); // a third claim would have happened by now
    expect(claimedFiles()).toHaveLength(2);
    expect(readdirSync(paths.ready)).toHaveLength(2);
    b.release();
    await until('all moved', () => b.published.length === 4);
    expect(names.every((nm) => !existsSync(path.join(paths.ready, nm)))).toBe(true);
  });

  it('moves the oldest first, by spooled time (not by name), then by name', async () => {
    const b = backends();
    const [a, c1, c2, c3, d] = [crash(), crash(), crash(), crash(), crash()];
    // 10 000 ms sorts before 9 000 ms as text: only a numeric order gets this right.
    inReady(a!, 10_000);
    inReady(d!, 9_000);
    for (const c of [c3!, c1!, c2!]) inReady(c, 9_500);
    await sink(b, recording(), { concurrentMovers: 1 });
    await until('all moved', () => b.published.length === 5);
    expect(b.saved).toEqual([d!, c1!, c2!, c3!, a!].map((c) => c.crashId));
  });

  it('leaves files in ready/ that are not spool entries alone, and moves the entries around them', async () => {
    const b = backends();
    const c = crash();
    inReady(c);
    writeFileSync(path.join(paths.ready, 'README.txt'), 'not an entry');
    writeFileSync(path.join(paths.ready, '.probe-1'), 'ok');
    const r = recording();
    const s = await sink(b, r);
    await until('moved', () => b.published.includes(c.crashId));
    await until('handled', () => s.handled === 1);
    expect(readdirSync(paths.ready).sort()).toEqual(['.probe-1', 'README.txt']);
    expect(claimedFiles()).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('logs that it cannot read ready/, and keeps moving what it receives', async () => {
    const b = backends();
    const r = recording();
    const s = await sink(b, r, { concurrentMovers: 1 });
    rmSync(paths.ready, { recursive: true });
    writeFileSync(paths.ready, 'in the way');
    await until('logged', () => r.lines.some((l) => l.startsWith(`error cannot read the spool ${paths.ready}: `)));
    const c = crash();
    expect(await s.submit(c)).toBe('saved');
    await until('moved', () => b.published.includes(c.crashId));
  });
});

describe('spool movers: how many, how soon', () => {
  it('moves as many crashes at once as it has movers, and says so in inFlight', async () => {
    const b = backends();
    b.state.hold = true;
    const s = await sink(b, recording(), { concurrentMovers: 2 });
    const crashes = [crash(), crash(), crash()];
    for (const c of crashes) expect(await s.submit(c)).toBe('saved');
    await until('two saves in flight', () => b.started.length === 2);
    await sleep(100); // a third mover would have started by now
    expect(b.started).toHaveLength(2);
    expect(s.inFlight).toBe(2);
    expect(s.queueSize).toBe(1);
    b.release();
    await until('all moved', () => b.published.length === 3);
    await until('nothing in flight', () => s.inFlight === 0 && s.queueSize === 0);
  });

  it('with no movers, moves nothing (the spool tool and tests rely on it)', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 0 });
    const c = crash();
    await s.submit(c);
    await sleep(150);
    expect(b.started).toEqual([]);
    expect(claimedFiles()).toHaveLength(1);
  });

  it('moves a new crash at once, not at the next look at ready/', async () => {
    const b = backends();
    const s = await sink(b, recording(), { idleScanMs: 600_000 });
    await sleep(50); // the mover is idle, waiting for the next scan
    const c = crash();
    await s.submit(c);
    await until('moved long before the idle scan', () => b.published.includes(c.crashId), 10_000);
  });

  it('tries again when a short back-off ends, without waiting for the next look at ready/', async () => {
    const b = backends();
    b.state.saveFailures = 1;
    const s = await sink(b, recording(), { idleScanMs: 600_000, backoffBaseMs: 20, backoffMaxMs: 20 });
    const c = crash();
    await s.submit(c);
    await until('saved after one failure', () => b.published.includes(c.crashId), 10_000);
    expect(b.started).toEqual([c.crashId, c.crashId]);
  });

  it('reports the queue of claimed crashes as save_queue_size, and the time each move took', async () => {
    const b = backends();
    b.state.hold = true;
    const r = recording();
    const s = await sink(b, r, { concurrentMovers: 1 });
    await s.submit(crash());
    await until('in flight', () => b.started.length === 1);
    await s.submit(crash());
    expect(r.gauges.at(-1)).toEqual(['collector.crashmover.save_queue_size', 1]);
    b.release();
    await until('all moved', () => b.published.length === 2 && s.inFlight === 0);
    await until('gauge after the last move', () => r.gauges.filter(([g]) => g === 'collector.crashmover.save_queue_size').length >= 4);
    expect(r.gauges.at(-1)).toEqual(['collector.crashmover.save_queue_size', 0]);
    expect(r.gauges.every(([g]) => g === 'collector.crashmover.save_queue_size')).toBe(true);
    expect(r.timings.filter((t) => t === 'collector.crashmover.crash_handling.time')).toHaveLength(2);
  });

  it('speaks of a recovery only after an outage', async () => {
    const b = backends();
    const r = recording();
    const s = await sink(b, r);
    const c = crash();
    await s.submit(c);
    await until('handled', () => s.handled === 1);
    expect(r.lines.filter((l) => l.includes('work again'))).toEqual([]);
    expect(r.lines.filter((l) => l.startsWith('error'))).toEqual([]);
    expect(r.counted).toEqual(['collector.crashmover.save_crash.count', 'collector.spool.moved.count']);
  });

  it('logs each crash it spools', async () => {
    const r = recording();
    const s = await sink(backends(), r, { concurrentMovers: 0 });
    const c = crash();
    await s.submit(c);
    expect(r.lines).toContain(`info ${c.crashId} spooled`);
  });
});

describe('spool movers: drain', () => {
  it('does not end while a move is in flight or entries wait in ready/', async () => {
    const b = backends();
    b.state.hold = true;
    const waiting = [crash(), crash()];
    for (const c of waiting) inReady(c);
    const s = await sink(b, recording(), { concurrentMovers: 1 });
    await until('a save in flight', () => b.started.length === 1);
    let drained = false;
    const drain = s.drain().then(() => void (drained = true));
    await sleep(100);
    expect(drained).toBe(false);
    b.release();
    await drain;
    expect(b.published.sort()).toEqual(waiting.map((c) => c.crashId).sort());
    expect(readdirSync(paths.ready)).toEqual([]);
    expect(claimedFiles()).toEqual([]);
  });

  it('does not end while the crash it just received is being moved', async () => {
    const b = backends();
    b.state.hold = true;
    const s = await sink(b, recording(), { concurrentMovers: 1 });
    await sleep(50); // the mover has looked at ready/ and found it empty
    const c = crash();
    await s.submit(c);
    await until('its save in flight', () => b.started.length === 1);
    let drained = false;
    const drain = s.drain().then(() => void (drained = true));
    await sleep(100);
    expect(drained).toBe(false);
    b.release();
    await drain;
    expect(b.published).toEqual([c.crashId]);
  });

  it('does not end while crashes wait out a storage outage, and ends once they are moved', async () => {
    const b = backends();
    b.state.saveFailures = 1;
    const r = recording();
    const s = await sink(b, r, { concurrentMovers: 1, backoffBaseMs: 400, backoffMaxMs: 400 });
    const c = crash();
    await s.submit(c);
    await until('a failed save', () => r.counted.includes('collector.spool.move_failed.count operation:save'));
    let drained = false;
    const drain = s.drain().then(() => void (drained = true));
    await sleep(100); // inside the back-off: nothing in flight, one crash claimed
    expect(drained).toBe(false);
    await drain;
    expect(b.published).toEqual([c.crashId]);
  });

  it('right after start, moves what waits in ready/ before it ends', async () => {
    const b = backends();
    const waiting = [crash(), crash(), crash()];
    for (const c of waiting) inReady(c);
    const s = await sink(b, recording(), { concurrentMovers: 1 });
    await s.drain();
    expect(b.published.sort()).toEqual(waiting.map((c) => c.crashId).sort());
  });

  it('ends at once when there is nothing to move', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 1 });
    await until('idle', () => b.started.length === 0);
    await s.drain();
    expect(b.started).toEqual([]);
  });
});

describe('spool movers: entries whose file misbehaves', () => {
  it('drops an entry whose file is gone when its mover reads it, with a log line, and moves on', async () => {
    const b = backends();
    const r = recording();
    mkdirSync(paths.ready, { recursive: true });
    const gone = crash();
    const name = entryFileName({ spooledAt: 1, bytes: 10, crashId: gone.crashId, state: 'crash' });
    symlinkSync(path.join(root, 'nowhere'), path.join(paths.ready, name)); // renamed fine, read fails with ENOENT
    const next = crash();
    inReady(next, 2);
    const s = await sink(b, r, { concurrentMovers: 1 });
    await until('the next one moved', () => b.published.includes(next.crashId));
    await until('both handled', () => s.handled === 2);
    expect(r.lines.filter((l) => l.includes('cannot read its spool entry'))).toEqual([expect.stringMatching(/^error /)]);
    expect(r.lines.find((l) => l.includes('cannot read its spool entry'))).toContain(
      `error ${gone.crashId}: cannot read its spool entry ${path.join(paths.claimedBy(OWNER), name)}: ENOENT`,
    );
    expect(b.started).toEqual([next.crashId]);
    expect(existsSync(path.join(root, 'corrupt'))).toBe(false);
  });

  it('sets aside an entry that is not a file (a directory) in corrupt/, counted, and moves the others', async () => {
    const b = backends();
    const r = recording();
    mkdirSync(paths.ready, { recursive: true });
    const odd = crash();
    const name = entryFileName({ spooledAt: 1, bytes: 10, crashId: odd.crashId, state: 'crash' });
    mkdirSync(path.join(paths.ready, name)); // a directory: read fails with EISDIR
    const good = crash();
    inReady(good, 2);
    const s = await sink(b, r, { concurrentMovers: 1 });
    await until('both handled', () => s.handled === 2);
    expect(b.published).toEqual([good.crashId]);
    expect(readdirSync(path.join(root, 'corrupt'))).toEqual([name]);
    expect(claimedFiles()).toEqual([]);
    expect(r.counted).toContain('collector.spool.quarantined.count reason:corrupt_entry');
    expect(r.lines.filter((l) => l.startsWith(`error ${odd.crashId}: `))).toEqual([
      `error ${odd.crashId}: corrupt spool entry: a directory, not a file; can never be moved (corrupt_entry); moved to ${path.join(root, 'corrupt')} for inspection`,
    ]);
  });

  it('backs off on an entry it cannot read for now (a disk error) instead of retrying it at once, and moves it once it reads', async () => {
    const b = backends();
    const r = recording();
    const c = crash();
    const name = inReady(c, 1);
    let failing = true;
    const reads: string[] = [];
    const realReadFile = fsp.readFile;
    jest.spyOn(fsp, 'readFile').mockImplementation((async (file: Parameters<typeof fsp.readFile>[0], ...rest: unknown[]) => {
      if (String(file).endsWith(name)) {
        reads.push(String(file));
        if (failing) throw Object.assign(new Error(`EIO: i/o error, open '${String(file)}'`), { code: 'EIO' });
      }
      return (realReadFile as (...a: unknown[]) => Promise<Buffer>)(file, ...rest);
    }) as typeof fsp.readFile);
    try {
      // A back-off far longer than the look: the old code read the file again at once, hundreds of times.
      const s = await sink(b, r, { concurrentMovers: 2, backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
      await until('tried once', () => reads.length >= 1);
      await sleep(300);
      expect(reads).toHaveLength(1);
      expect(r.counted).toContain('collector.spool.move_failed.count operation:save');
      expect(r.lines.filter((l) => l.includes('cannot read its spool entry'))).toHaveLength(1);
      expect(claimedFiles()).toEqual([name]);
      expect(s.handled).toBe(0);
    } finally {
      jest.restoreAllMocks();
    }
    failing = false;
    await sinks[sinks.length - 1]!.sink.stop();
    // As the primary does with a stopped worker's claims: back to ready/, where the next worker reads and moves it.
    renameSync(path.join(paths.claimedBy(OWNER), name), path.join(paths.ready, name));
    const s3 = await sink(b, r, { concurrentMovers: 1 });
    await until('moved', () => b.published.includes(c.crashId));
    expect(s3.handled).toBe(1);
  });

  it('leaves an undecodable entry where it is, logged, when corrupt/ cannot be made, and still moves the others', async () => {
    const b = backends();
    const r = recording();
    mkdirSync(paths.ready, { recursive: true });
    writeFileSync(path.join(root, 'corrupt'), 'in the way');
    const bad = crash();
    const name = entryFileName({ spooledAt: 1, bytes: 9, crashId: bad.crashId, state: 'crash' });
    writeFileSync(path.join(paths.ready, name), 'not a spool entry');
    const good = crash();
    inReady(good, 2);
    const s = await sink(b, r, { concurrentMovers: 1 });
    await until('the good one moved', () => b.published.includes(good.crashId));
    await until('both handled', () => s.handled === 2);
    expect(r.lines.some((l) => l.startsWith(`error ${bad.crashId}: cannot move its spool entry to ${path.join(root, 'corrupt')}: `))).toBe(true);
    expect(r.lines.some((l) => l.startsWith(`error ${bad.crashId}: `) && l.endsWith(`moved to ${path.join(root, 'corrupt')} for inspection`))).toBe(true);
    expect(r.counted).toContain('collector.spool.corrupt.count');
    expect(claimedFiles()).toEqual([name]);
  });

  it('an entry deleted under its mover after the publish is logged, counted as handled, and not published again', async () => {
    const b = backends();
    const r = recording();
    const s = await sink(b, r, { concurrentMovers: 1 });
    b.state.publish = async () => {
      for (const f of claimedFiles()) unlinkSync(path.join(paths.claimedBy(OWNER), f));
    };
    const c = crash();
    await s.submit(c);
    await until('handled', () => s.handled === 1);
    expect(r.lines.some((l) => l.startsWith(`error ${c.crashId}: spool entry `) && l.includes('ENOENT'))).toBe(true);
    await sleep(100);
    expect(b.published).toEqual([c.crashId]);
    expect(b.saved).toEqual([c.crashId]);
  });
});

describe('spool: when it says it is done with a crash’s bytes (so the request frees them at once)', () => {
  /** A crash whose `doneWithBytes` counts its calls. */
  function lentCrash() {
    const done = { calls: 0 };
    const c: CrashReport = { ...crash(), doneWithBytes: () => void done.calls++ };
    return { c, done };
  }

  it('once a mover has saved it from memory at its first try, not while the save is in flight', async () => {
    const b = backends();
    b.state.hold = true;
    const s = await sink(b, recording(), { concurrentMovers: 1 });
    const { c, done } = lentCrash();
    expect(await s.submit(c)).toBe('saved');
    await until('the save in flight', () => b.started.length === 1);
    expect(done.calls).toBe(0);
    b.release();
    await until('moved', () => b.published.includes(c.crashId));
    expect(done.calls).toBe(1);
  });

  it('never, for a crash whose first save failed (it may still be sending), though a later try saves it', async () => {
    const b = backends();
    b.state.saveFailures = 1;
    const s = await sink(b, recording(), { idleScanMs: 600_000, backoffBaseMs: 20, backoffMaxMs: 20 });
    const { c, done } = lentCrash();
    await s.submit(c);
    await until('saved after one failure', () => b.published.includes(c.crashId), 10_000);
    expect(b.started).toEqual([c.crashId, c.crashId]);
    expect(done.calls).toBe(0);
  });

  it('as soon as the entry is written, when no mover will save it from memory', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 0 });
    const { c, done } = lentCrash();
    expect(await s.submit(c)).toBe('saved');
    expect(done.calls).toBe(1);
    expect(claimedFiles()).toHaveLength(1);
  });
});

describe('spool: stop', () => {
  it('stops idle movers at once, without waiting for their next look at ready/', async () => {
    const b = backends();
    const s = await sink(b, recording(), { concurrentMovers: 2, idleScanMs: 600_000 });
    await sleep(50);
    await s.stop(); // a stop that waited for the idle scan would hit this test's timeout
    expect(s.inFlight).toBe(0);
  }, 10_000);

  it('leaves a crash that waits out a back-off in its claims, unsaved', async () => {
    const b = backends();
    b.state.saveFailures = 1;
    const r = recording();
    const s = await sink(b, r, { concurrentMovers: 1, backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
    const c = crash();
    await s.submit(c);
    await until('a failed save', () => r.counted.includes('collector.spool.move_failed.count operation:save'));
    await s.stop();
    expect(b.saved).toEqual([]);
    expect(claimedFiles()).toHaveLength(1);
    expect(claimedFiles()[0]).toContain(c.crashId);
  });
});

describe('spool: the health check', () => {
  it('writes and removes its probe, leaving tmp/ as it was', async () => {
    const s = await sink(backends(), recording(), { concurrentMovers: 0 });
    await s.checkWritable();
    expect(readdirSync(paths.tmp)).toEqual([]);
    expect(existsSync(paths.claimedBy(OWNER))).toBe(true);
  });
});
