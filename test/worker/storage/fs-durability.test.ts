/**
 * What makes an fs-stored crash durable, observed at the `node:fs/promises`
 * calls (test/support/fs-trace): every file of a crash is written under a
 * temporary name, fsynced, renamed, and its directory fsynced, before save()
 * resolves (the HTTP answer waits for it); and the raw crash, whose presence
 * means "complete", gets its name only once every other file of the crash is
 * durable. A failure at any of those steps for a dump leaves no raw crash.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { fakeDump } from '../../support/crashes';
import { durableWrite, FsTrace } from '../../support/fs-trace';
import { tempDir } from '../../support/server';
import { waitFor } from '../../support/wait';

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

beforeEach(() => {
  root = tempDir();
  trace = new FsTrace().install();
});

afterEach(() => {
  trace.restore();
  rmSync(root, { recursive: true, force: true });
});

describe('fs storage: durability order', () => {
  /** Saves crash `n` and checks the order of its files' durable writes. */
  async function saveAndCheck(storage: CrashStorage, n: number): Promise<void> {
    const c = crash(n);
    const started = trace.mark();
    await storage.save(c);
    const answer = trace.mark();

    const others = othersOf(c.crashId).map((f) => durableWrite(trace, f, answer));
    const raw = durableWrite(trace, rawOf(c.crashId), answer);
    for (const [i, o] of others.entries()) {
      expect(o.open.start).toBeGreaterThan(started);
      // Renamed, and its directory fsynced, before the raw crash was given its name.
      if (!(o.dirSync.end! < raw.rename.start)) {
        throw new Error(`the raw crash was renamed (${raw.rename.start}) before ${othersOf(c.crashId)[i]} was durable (${o.dirSync.end})\n${trace.describe()}`);
      }
    }
  }

  test('every file of a crash: written, fsynced, renamed, its directory fsynced, all before save() resolves; the raw crash renamed after all others are durable', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD });
    // The first save makes the directories; the next ones are the steady state (directories known, handles open).
    await saveAndCheck(storage, 1);
    await saveAndCheck(storage, 2);
    await Promise.all([3, 4, 5].map((n) => saveAndCheck(storage, n)));
    await storage.close();
    expect(filesUnder(root)).toHaveLength(5 * 5);
  });

  test('a directory removed after an earlier save (a retention job) is made again, and the new one is fsynced', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD });
    await saveAndCheck(storage, 1);
    rmSync(path.join(root, 'v1'), { recursive: true });
    await saveAndCheck(storage, 2);
    await storage.close();
  });

  test('a directory removed and made again by someone else (another worker) is fsynced, not the one it replaced', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD });
    await saveAndCheck(storage, 1);
    rmSync(path.join(root, 'v1'), { recursive: true });
    // This storage's next save never finds a directory missing.
    for (const f of [...othersOf(idOf(2)), rawOf(idOf(2))]) mkdirSync(path.dirname(f), { recursive: true });
    await saveAndCheck(storage, 2);
    await storage.close();
  });

  test('while a dump is being renamed, the raw crash is not', async () => {
    const storage = createFsStorage({ root, dumpField: FIELD });
    const release = trace.hold((c) => c.op === 'rename' && c.to === MEMORY());
    const saved = storage.save(crash());
    await waitFor('the memory_report rename to start', () => trace.calls.some((c) => c.op === 'rename' && c.to === MEMORY()), 20_000, 5);
    expect(trace.calls.filter((c) => c.op === 'rename' && c.to === RAW())).toEqual([]);
    expect(existsSync(RAW())).toBe(false);
    release();
    await saved;
    expect(existsSync(RAW())).toBe(true);
    await storage.close();
  });
});

describe('fs storage: a dump that fails to commit leaves no raw crash', () => {
  const cases: Array<[string, (t: FsTrace) => void]> = [
    ['its rename fails', (t) => t.fail((c) => c.op === 'rename' && c.to === MEMORY())],
    ["dump_names's rename fails", (t) => t.fail((c) => c.op === 'rename' && c.to === file(`v1/dump_names/${ID}`))],
    ["its directory's fsync fails", (t) => t.fail((c) => c.op === 'sync' && c.path === path.dirname(MEMORY()))],
  ];

  test.each(cases)('%s: save() rejects, there is no raw crash and no temporary file', async (_what, inject) => {
    const storage = createFsStorage({ root, dumpField: FIELD });
    inject(trace);
    await expect(storage.save(crash())).rejects.toThrow(/EIO/);
    expect(trace.calls.some((c) => c.error === 'EIO')).toBe(true);
    expect(existsSync(RAW())).toBe(false);
    expect(trace.calls.filter((c) => c.op === 'rename' && c.to === RAW())).toEqual([]);
    expect(filesUnder(root).filter((f) => path.basename(f).startsWith('.'))).toEqual([]);

    // The next attempt (the crashmover's retry) stores it whole.
    await storage.save(crash());
    expect(existsSync(RAW())).toBe(true);
    await storage.close();
  });
});
