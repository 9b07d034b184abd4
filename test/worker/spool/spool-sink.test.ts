import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toBuffer } from '../../../src/shared/crash-report';
import { createLogger } from '../../../src/shared/logging';
import { noopMetrics, type Metrics } from '../../../src/shared/metrics';
import { decodeEntry, encodeEntry } from '../../../src/shared/spool/entry-codec';
import { entryFileName, parseEntryName, spoolPaths } from '../../../src/shared/spool/layout';
import { recoverSpool, scanSpool } from '../../../src/shared/spool/spool-dir';
import { SinkRefusal } from '../../../src/worker/crashmover/crash-sink';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { SpoolSink, type SpoolOptions } from '../../../src/worker/spool/spool-sink';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { testCrash } from '../../support/crashes';
import { sleep, waitFor } from '../../support/wait';
import { testSpoolOptions } from '../../support/spool';
import { Writable } from 'node:stream';
import { KindedError } from '../../../src/shared/failure';

const logLines: string[] = [];
const logger = createLogger({
  level: 'DEBUG',
  localDevEnv: true,
  hostname: 'test',
  stream: new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }),
});

const crash = (size = 1000) => testCrash(size);

/** Storage and publisher that record what they got and fail on demand. */
function backends() {
  const saved = new Map<string, number>();
  const published: string[] = [];
  const state = { saveFails: false, publishFails: false, saveDelayMs: 0, poison: new Set<string>() };
  const storage: CrashStorage = {
    name: 'TestStorage',
    async save(c) {
      if (state.saveDelayMs) await new Promise((r) => setTimeout(r, state.saveDelayMs));
      if (state.saveFails) throw new Error('storage down');
      if (state.poison.has(c.crashId)) throw new KindedError('permanent', 'unserializable', `${c.crashId}: the raw crash cannot be written as JSON`);
      saved.set(c.crashId, (saved.get(c.crashId) ?? 0) + 1);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  const publisher: CrashPublisher = {
    name: 'TestPublisher',
    async publish(id) {
      if (state.publishFails) throw new Error('queue down');
      published.push(id);
    },
    verify: async () => {},
    checkHealth: async () => {},
    close: async () => {},
  };
  return { storage, publisher, saved, published, state };
}

function options(root: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return testSpoolOptions(spoolPaths(root), { concurrentMovers: 2, backoffMaxMs: 100, ...over });
}

const until = (what: string, fn: () => boolean, ms = 20000) => waitFor(what, fn, ms, 10);

const files = (root: string) => {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.join(d, e.name));
    }
  };
  walk(root);
  return out.filter((f) => !path.relative(root, f).startsWith(`tmp${path.sep}`));
};

let root: string;
const sinks: SpoolSink[] = [];
beforeEach(() => {
  root = path.join(mkdtempSync(path.join(os.tmpdir(), 'antenna-spool-')), 'spool');
});
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
});

async function sink(b: ReturnType<typeof backends>, over: Partial<SpoolOptions> = {}, metrics: Metrics = noopMetrics) {
  const s = new SpoolSink(options(root, over), b.storage, b.publisher, logger, metrics);
  await s.start();
  sinks.push(s);
  return s;
}

describe('an idle spool', () => {
  it('keeps no trace of the waits that timed out (a quiet node used to collect one per mover per interval)', async () => {
    const b = backends();
    const s = await sink(b, { idleScanMs: 1, concurrentMovers: 4 });
    await sleep(300); // hundreds of idle timeouts per mover
    const waiting = (s as unknown as { wake: Set<unknown> }).wake;
    expect(waiting.size).toBeLessThanOrEqual(4);
    await s.submit(crash());
    await until('the crash moved', () => b.saved.size === 1);
  });
});

describe('entries', () => {
  it('encode and decode a crash byte for byte; names carry time, size, id and state', () => {
    const c = crash(5000);
    c.dumps.set('memory_report', Buffer.from('xyz'));
    const buf = Buffer.concat(encodeEntry(c));
    const back = decodeEntry(buf);
    expect(back.crashId).toBe(c.crashId);
    expect(back.rawCrash).toEqual(c.rawCrash);
    expect([...back.dumps.keys()]).toEqual(['upload_file_minidump', 'memory_report']);
    expect(toBuffer(back.dumps.get('upload_file_minidump')!).equals(toBuffer(c.dumps.get('upload_file_minidump')!))).toBe(true);
    expect(() => decodeEntry(buf.subarray(0, buf.length - 1))).toThrow(/corrupt spool entry/);
    expect(() => decodeEntry(Buffer.from('junk'))).toThrow(/bad magic/);
    const name = entryFileName({ spooledAt: 1700000000000, bytes: buf.length, crashId: c.crashId, state: 'crash' });
    expect(parseEntryName(name)).toEqual({ spooledAt: 1700000000000, bytes: buf.length, crashId: c.crashId, state: 'crash' });
    expect(parseEntryName('.probe')).toBeUndefined();
  });
});

describe('SpoolSink', () => {
  it('acknowledges once the entry is on disk, then saves, publishes and deletes it', async () => {
    const b = backends();
    b.state.saveDelayMs = 100;
    const s = await sink(b);
    const c = crash();
    expect(await s.submit(c)).toBe('saved');
    // Acknowledged before storage has it: the spool holds it.
    expect(b.saved.size).toBe(0);
    expect(files(root).some((f) => f.includes(c.crashId))).toBe(true);
    await until('moved', () => b.published.includes(c.crashId));
    await until('deleted', () => files(root).length === 0);
    expect(b.saved.get(c.crashId)).toBe(1);
  });

  it('keeps crashes through a storage outage and moves every one, once, after it', async () => {
    const b = backends();
    b.state.saveFails = true;
    const s = await sink(b);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const c = crash();
      ids.push(c.crashId);
      expect(await s.submit(c)).toBe('saved');
    }
    await sleep(200);
    expect(b.saved.size).toBe(0);
    expect(files(root)).toHaveLength(20);
    expect(s.outageSince).toBeDefined();
    b.state.saveFails = false;
    await until('all published', () => ids.every((id) => b.published.includes(id)));
    // An entry is deleted just after its id is published.
    await until('spool empty', () => files(root).length === 0);
    expect([...b.saved.values()].every((v) => v === 1)).toBe(true);
    expect(s.outageSince).toBeUndefined();
    expect(logLines.filter((l) => /TestStorage cannot save/.test(l)).length).toBeGreaterThanOrEqual(1);
    expect(logLines.filter((l) => /work again after/.test(l)).length).toBeGreaterThanOrEqual(1);
  });

  it('a saved crash whose publish fails stays as .saved and is published later without saving again', async () => {
    const b = backends();
    b.state.publishFails = true;
    const s = await sink(b);
    const c = crash();
    await s.submit(c);
    await until('saved once', () => b.saved.get(c.crashId) === 1);
    await until('marked saved', () => files(root).some((f) => f.endsWith('.saved')));
    await sleep(150);
    b.state.publishFails = false;
    await until('published', () => b.published.includes(c.crashId));
    expect(b.saved.get(c.crashId)).toBe(1);
    await until('deleted', () => files(root).length === 0);
  });

  it('refuses with SinkRefusal (reason full) when the spool is full, and counts it', async () => {
    const b = backends();
    b.state.saveFails = true;
    const counted: string[] = [];
    const metrics: Metrics = { ...noopMetrics, incr: (name, tags) => counted.push(`${name} ${tags?.join(',') ?? ''}`) };
    const s = await sink(b, { maxBytes: 1024 * 1024 + 30_000 }, metrics);
    let accepted = 0;
    let refused: unknown;
    for (let i = 0; i < 300 && !refused; i++) {
      try {
        await s.submit(crash(10_000));
        accepted++;
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(SinkRefusal);
    expect(refused).toMatchObject({ reason: 'full', retryAfterSeconds: 7 });
    expect(accepted).toBeGreaterThan(50);
    expect(files(root)).toHaveLength(accepted);
    expect(counted).toContain('collector.spool.refused.count reason:full');
    expect(s.isFull()).toBe(true);
  });

  it('refuses cleanly when it cannot write, acknowledging nothing', async () => {
    const b = backends();
    const s = await sink(b);
    const paths = spoolPaths(root);
    rmSync(paths.tmp, { recursive: true });
    writeFileSync(paths.tmp, 'in the way');
    await expect(s.submit(crash())).rejects.toMatchObject({ name: 'SinkRefusal', reason: 'write_error' });
    await expect(s.checkWritable()).rejects.toThrow();
    expect(b.saved.size).toBe(0);
  });

  it('recreates its directories when they are removed under it, at the next health check', async () => {
    const b = backends();
    const s = await sink(b);
    rmSync(root, { recursive: true });
    await expect(s.submit(crash())).rejects.toMatchObject({ name: 'SinkRefusal', reason: 'write_error' });
    await s.checkWritable();
    const c = crash();
    await s.submit(c);
    await until('the crash moved', () => b.saved.has(c.crashId));
  });

  it('expires entries older than the maximum age with a log line', async () => {
    const b = backends();
    const paths = spoolPaths(root);
    mkdirSync(paths.ready, { recursive: true });
    const old = crash();
    const parts = encodeEntry(old);
    const bytes = parts.reduce((x, p) => x + p.length, 0);
    writeFileSync(
      path.join(paths.ready, entryFileName({ spooledAt: Date.now() - 120_000, bytes, crashId: old.crashId, state: 'crash' })),
      Buffer.concat(parts),
    );
    await sink(b, { maxAgeMs: 60_000 });
    await until('expired', () => files(root).length === 0);
    expect(b.saved.size).toBe(0);
    expect(logLines.some((l) => l.includes(`${old.crashId}: expired after`))).toBe(true);
  });

  it('two workers moving one spool move each entry exactly once (claim by rename)', async () => {
    const b = backends();
    const paths = spoolPaths(root);
    mkdirSync(paths.ready, { recursive: true });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const c = crash(500);
      ids.push(c.crashId);
      const parts = encodeEntry(c);
      const bytes = parts.reduce((x, p) => x + p.length, 0);
      writeFileSync(path.join(paths.ready, entryFileName({ spooledAt: Date.now(), bytes, crashId: c.crashId, state: 'crash' })), Buffer.concat(parts));
    }
    b.state.saveDelayMs = 2;
    const a = await sink(b, { owner: 101, concurrentMovers: 4 });
    const c = await sink(b, { owner: 102, concurrentMovers: 4 });
    await until('all published', () => b.published.length >= 200, 20000);
    expect(b.published.length).toBe(200);
    expect(new Set(b.published).size).toBe(200);
    expect(ids.every((id) => b.saved.get(id) === 1)).toBe(true);
    // A mover counts an entry once it has also deleted it, just after publishing.
    await until('all moves finished', () => a.handled + c.handled >= 200);
    // Both took part.
    expect(a.handled).toBeGreaterThan(0);
    expect(c.handled).toBeGreaterThan(0);
    expect(a.handled + c.handled).toBe(200);
  });

  it('recovery discards half-written entries and releases old claims; the listing counts from names', async () => {
    const paths = spoolPaths(root);
    for (const d of [paths.tmp, paths.ready, paths.claimedBy(999)]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(paths.tmp, 'half.tmp'), 'partial');
    const c = crash();
    const name = entryFileName({ spooledAt: 1000, bytes: 1234, crashId: c.crashId, state: 'saved' });
    writeFileSync(path.join(paths.claimedBy(999), name), Buffer.concat(encodeEntry(c)));
    expect(await recoverSpool(paths)).toEqual({ discarded: 1, released: 1 });
    expect(readdirSync(paths.tmp)).toEqual([]);
    expect(readdirSync(paths.ready)).toEqual([name]);
    const stats = await scanSpool(paths);
    expect(stats).toEqual(expect.objectContaining({ crashes: 1, bytes: 1234, oldestSpooledAt: 1000 }));
  });

  it('drain resolves once everything spooled has been moved', async () => {
    const b = backends();
    b.state.saveDelayMs = 30;
    const s = await sink(b);
    for (let i = 0; i < 10; i++) await s.submit(crash());
    await s.drain();
    expect(b.published).toHaveLength(10);
    expect(files(root)).toHaveLength(0);
    await expect(s.submit(crash())).rejects.toMatchObject({ name: 'SinkRefusal', reason: 'draining' });
  });

  it('quarantines a poison entry at once, without backing off the entries around it', async () => {
    const b = backends();
    const counted: string[] = [];
    const metrics: Metrics = { ...noopMetrics, incr: (name, tags) => counted.push(`${name} ${tags?.join(',') ?? ''}`) };
    // A back-off would hold every mover for a minute: far past the wait below.
    const s = await sink(b, { backoffBaseMs: 60_000, backoffMaxMs: 60_000, concurrentMovers: 1 }, metrics);
    const poison = crash();
    b.state.poison.add(poison.crashId);
    expect(await s.submit(poison)).toBe('saved');
    const normal = Array.from({ length: 20 }, () => crash());
    for (const c of normal) expect(await s.submit(c)).toBe('saved');
    await until('every normal crash moved', () => normal.every((c) => b.published.includes(c.crashId)), 15_000);
    expect(b.published).not.toContain(poison.crashId);
    expect(s.outageSince).toBeUndefined();
    const corrupt = path.join(root, 'corrupt');
    await until('the poison entry set aside', () => existsSync(corrupt) && readdirSync(corrupt).some((f) => f.includes(poison.crashId)));
    // A mover deletes an entry just after publishing it: wait for the last one.
    await until('every moved entry deleted', () => files(root).filter((f) => !f.startsWith(corrupt)).length === 0);
    expect(counted).toContain('collector.spool.quarantined.count reason:unserializable');
    expect(counted.filter((c) => c.startsWith('collector.spool.move_failed.count'))).toEqual([]);
    expect(logLines.some((l) => l.includes(poison.crashId) && l.includes('moved to') && l.includes('corrupt'))).toBe(true);
  });
});
