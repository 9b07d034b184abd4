/**
 * What makes an fs-stored crash durable, observed at the `node:fs/promises`
 * calls and the inline path's `node:fs` calls (test/support/fs-trace), before
 * save() resolves (the HTTP answer
 * waits for it): every dump and dump_names is created under its own name,
 * written, fsynced, and its directory fsynced; the raw crash, whose presence
 * means "complete", is written under a temporary name, fsynced, and gets its
 * name only once every other file of the crash is durable, then its directory
 * is fsynced. A failure at any step for a dump leaves no raw crash, and no
 * dump either.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { CrashReport } from '../../../src/shared/crash-report';
import { createStorage } from '../../../src/worker/backends';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { silentLogger } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { durableCreate, durableWrite, tracedRootEachTest, type FsTrace, type CallMatcher } from '../../support/fs-trace';
import { sleep, waitFor } from '../../support/wait';

const FIELD = 'upload_file_minidump';
const idOf = (n: number) => `de1bb258-cbbf-4589-a673-${String(n).padStart(6, '0')}160918`;
const ID = idOf(0);

function crash(n = 0): CrashReport {
  const id = idOf(n);
  return {
    crashId: id,
    rawCrash: { ProductName: 'Test', uuid: id },
    dumps: new Map([
      [FIELD, fakeDump(20_000, 1)],
      ['memory_report', fakeDump(3_000, 2)],
      ['upload_file_minidump_browser', fakeDump(5_000, 3)],
    ]),
  };
}

let root: string;
let trace: FsTrace;
const file = (key: string) => path.join(root, key);
const rawOf = (id: string) => file(`v1/raw_crash/20160918/${id}`);
const othersOf = (id: string) => [`v1/dump/${id}`, `v1/memory_report/${id}`, `v1/upload_file_minidump_browser/${id}`, `v1/dump_names/${id}`].map(file);
const RAW = () => rawOf(ID);
const MEMORY = () => file(`v1/memory_report/${ID}`);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/**
 * Every case twice: every call through the thread pool, and with
 * CRASHMOVER_CRASHSTORAGE_FS_INLINE_MAX_BYTES=4096, where the raw crash,
 * dump_names and the 3,000-byte memory_report are created, written and closed
 * on the event loop and the two larger dumps still go through the pool.
 */
const MODES = [
  ['every call in the thread pool', 0],
  ['files up to 4 KB inline', 4096],
] as const;

tracedRootEachTest((r, t) => {
  root = r;
  trace = t;
});

describe.each(MODES)('fs storage, %s: durability order', (_mode, inlineMaxBytes) => {
  /** Saves crash `n` and checks the order of its files' durable writes. */
  async function saveAndCheck(storage: CrashStorage, n: number): Promise<void> {
    const c = crash(n);
    const started = trace.mark();
    await storage.save(c);
    const answer = trace.mark();

    const others = othersOf(c.crashId).map((f) => durableCreate(trace, f, answer));
    const raw = durableWrite(trace, rawOf(c.crashId), answer);
    // Which files went inline: each by its own size.
    const sizes = [...c.dumps.values()].map((d) => d.length).concat(readFileSync(othersOf(c.crashId)[3]!).length);
    expect(others.map((o) => [o.open.inline === true, o.fsync.inline === true])).toEqual(sizes.map((n) => Array(2).fill(n <= inlineMaxBytes)));
    expect(raw.open.inline === true).toBe(inlineMaxBytes > 0);
    for (const [i, o] of others.entries()) {
      expect(o.open.start).toBeGreaterThan(started);
      // Its bytes and its name durable before the raw crash was given its name.
      for (const [what, done] of [
        ['fsync', o.fsync.end!],
        ["directory's fsync", o.dirSync.end!],
      ] as const) {
        if (!(done < raw.rename.start)) {
          throw new Error(
            `the raw crash was renamed (${raw.rename.start}) before the ${what} of ${othersOf(c.crashId)[i]} finished (${done})\n${trace.describe()}`,
          );
        }
      }
    }
  }

  test('every file of a crash written, fsynced and its directory fsynced before save() resolves, the dumps under their own names; the raw crash renamed after all others are durable', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    // The first save makes the directories; the next ones are the steady state (directories known, handles open).
    await saveAndCheck(storage, 1);
    await saveAndCheck(storage, 2);
    await Promise.all([3, 4, 5].map((n) => saveAndCheck(storage, n)));
    await storage.close();
    expect(filesUnder(root)).toHaveLength(5 * 5);
  });

  test('a directory removed after an earlier save (a retention job) is made again, and the new one is fsynced', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    await saveAndCheck(storage, 1);
    rmSync(path.join(root, 'v1'), { recursive: true });
    await saveAndCheck(storage, 2);
    await storage.close();
  });

  test('a directory removed and made again by someone else (another worker) is fsynced, not the one it replaced', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    await saveAndCheck(storage, 1);
    rmSync(path.join(root, 'v1'), { recursive: true });
    // This storage's next save never finds a directory missing.
    for (const f of [...othersOf(idOf(2)), rawOf(idOf(2))]) mkdirSync(path.dirname(f), { recursive: true });
    await saveAndCheck(storage, 2);
    await storage.close();
  });

  test.each([
    ['fsync', (c: Parameters<CallMatcher>[0]) => c.op === 'sync' && c.path === MEMORY()],
    ["directory's fsync", (c: Parameters<CallMatcher>[0]) => c.op === 'sync' && c.path === path.dirname(MEMORY())],
  ])("while a dump's %s is under way, the raw crash is not renamed", async (_what, held) => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    const release = trace.hold(held);
    const saved = storage.save(crash());
    await waitFor('the held call to start', () => trace.calls.some((c) => held(c) && c.end === undefined), 20_000, 5);
    // The raw crash has had all the time it needs to be written and fsynced beside the dumps.
    await waitFor(
      'the raw crash to be fsynced under its temporary name',
      () => trace.ok('sync', (c) => path.dirname(c.path) === path.dirname(RAW())).length > 0,
      20_000,
      5,
    );
    await sleep(100);
    expect(trace.calls.filter((c) => c.op === 'rename' && c.to === RAW())).toEqual([]);
    expect(existsSync(RAW())).toBe(false);
    release();
    await saved;
    expect(existsSync(RAW())).toBe(true);
    await storage.close();
  });
});

describe.each(MODES)('fs storage, %s: a dump that fails to be written leaves no raw crash and no dump', (_mode, inlineMaxBytes) => {
  const NAMES = () => file(`v1/dump_names/${ID}`);
  const cases: Array<[string, (t: FsTrace) => void]> = [
    ['its create fails', (t) => t.fail((c) => c.op === 'open' && c.path === MEMORY())],
    ['its write fails', (t) => t.fail((c) => c.op.startsWith('write') && c.path === MEMORY())],
    ['its fsync fails', (t) => t.fail((c) => c.op === 'sync' && c.path === MEMORY())],
    ["dump_names's fsync fails", (t) => t.fail((c) => c.op === 'sync' && c.path === NAMES())],
    ["its directory's fsync fails", (t) => t.fail((c) => c.op === 'sync' && c.path === path.dirname(MEMORY()))],
  ];

  test.each(cases)('%s: save() rejects, there is no raw crash, no dump and no temporary file', async (_what, inject) => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    inject(trace);
    await expect(storage.save(crash())).rejects.toThrow(/EIO/);
    expect(trace.calls.some((c) => c.error === 'EIO')).toBe(true);
    expect(existsSync(RAW())).toBe(false);
    expect(trace.calls.filter((c) => c.op === 'rename' && c.to === RAW())).toEqual([]);
    // What this attempt created is removed: nothing of the crash is left.
    expect(filesUnder(root)).toEqual([]);

    // The next attempt (the crashmover's retry) stores it whole, in place again.
    const again = trace.mark();
    await storage.save(crash());
    const answer = trace.mark();
    for (const f of othersOf(ID)) durableCreate(trace, f, answer, again);
    expect(existsSync(RAW())).toBe(true);
    await storage.close();
  });
});

describe.each(MODES)('fs storage, %s: a crash saved again (its raw crash present) is never truncated in place', (_mode, inlineMaxBytes) => {
  test("a second save replaces each dump by a rename; while it is under way and after it fails, the stored crash's files are whole", async () => {
    const storage = createFsStorage({ root, dumpField: FIELD, inlineMaxBytes });
    await storage.save(crash());
    const bytesOf = () => othersOf(ID).map((f) => readFileSync(f));
    const before = bytesOf();
    const sizes = before.map((b) => b.length);
    trace.calls.length = 0;

    // The spool saves a crash again when it was stopped after the save; held mid-way, then failed.
    const release = trace.hold((c) => c.op === 'sync' && path.basename(c.path).startsWith(`.${ID}.`) && path.dirname(c.path) === path.dirname(MEMORY()));
    trace.fail((c) => c.op === 'rename' && c.to === MEMORY());
    const saved = storage.save(crash());
    await waitFor('the memory_report replacement to be fsynced', () => trace.calls.some((c) => c.op === 'sync' && c.end === undefined), 20_000, 5);
    expect(bytesOf().map((b) => b.length)).toEqual(sizes);
    release();
    await expect(saved).rejects.toThrow(/EIO/);

    // Only ever tried exclusively (EEXIST): never opened for writing, so never truncated.
    expect(trace.ok('open', (c) => othersOf(ID).includes(c.path))).toEqual([]);
    expect(bytesOf()).toEqual(before);
    expect(existsSync(RAW())).toBe(true);
    expect(filesUnder(root).filter((f) => path.basename(f).startsWith('.'))).toEqual([]);
    await storage.close();
  });
});

test('the default configuration: a 400 KB dump is created, written and closed on the event loop, and still fsynced with its directory before the answer', async () => {
  const config = loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root });
  const storage = await createStorage(config, silentLogger);
  try {
    const c: CrashReport = { crashId: ID, rawCrash: { ProductName: 'Test', uuid: ID }, dumps: new Map([[FIELD, fakeDump(400_000, 1)]]) };
    await storage.save(c);
    const answer = trace.mark();
    const dump = durableCreate(trace, file(`v1/dump/${ID}`), answer);
    const raw = durableWrite(trace, RAW(), answer);
    expect(dump.open.inline).toBe(true);
    expect(Math.max(dump.fsync.end!, dump.dirSync.end!)).toBeLessThan(raw.rename.start);
    expect(readFileSync(file(`v1/dump/${ID}`))).toEqual(c.dumps.get(FIELD));
  } finally {
    await storage.close();
  }
});
