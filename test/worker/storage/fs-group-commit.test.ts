/**
 * fs storage with a group-commit window (CRASHMOVER_CRASHSTORAGE_FS_SYNC_WINDOW_US):
 * concurrent saves share fsyncs, and still every file of every crash is
 * written, fsynced and its directory fsynced by an fsync that started after
 * its name was made (the create of a dump, the rename of the raw crash),
 * before save() resolves; the raw crash is renamed only once the others'
 * fsyncs and directory fsyncs have finished. Observed at the
 * `node:fs/promises` calls (test/support/fs-trace).
 */
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import type { CrashReport } from '../../../src/shared/crash-report';
import { createStorage } from '../../../src/worker/backends';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { silentLogger } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { durableCreate, durableWrite, tracedRootEachTest, type FsTrace } from '../../support/fs-trace';
import { waitFor } from '../../support/wait';

const FIELD = 'upload_file_minidump';
const idOf = (n: number) => `de1bb258-cbbf-4589-a673-${String(n).padStart(6, '0')}160918`;

function crash(n: number): CrashReport {
  const id = idOf(n);
  return {
    crashId: id,
    rawCrash: { ProductName: 'Test', uuid: id },
    dumps: new Map([
      [FIELD, fakeDump(4_000, n)],
      ['memory_report', fakeDump(1_000, n + 1)],
    ]),
  };
}

let root: string;
let trace: FsTrace;
const file = (key: string) => path.join(root, key);
const rawOf = (id: string) => file(`v1/raw_crash/20160918/${id}`);
const othersOf = (id: string) => [`v1/dump/${id}`, `v1/memory_report/${id}`, `v1/dump_names/${id}`].map(file);

tracedRootEachTest((r, t) => {
  root = r;
  trace = t;
});

/** Saves crash `n`; resolves with the trace position of the answer. */
async function save(storage: CrashStorage, n: number): Promise<number> {
  await storage.save(crash(n));
  return trace.mark();
}

/** Every file of crash `n` durable before `answer`, the raw crash renamed after the others' fsyncs and directory fsyncs finished. */
function checkCrash(n: number, answer: number): void {
  const id = idOf(n);
  const others = othersOf(id).map((f) => durableCreate(trace, f, answer));
  const raw = durableWrite(trace, rawOf(id), answer);
  for (const [i, o] of others.entries()) {
    const durable = Math.max(o.fsync.end!, o.dirSync.end!);
    if (!(durable < raw.rename.start)) {
      throw new Error(`crash ${n}: the raw crash was renamed (${raw.rename.start}) before ${othersOf(id)[i]} was durable (${durable})\n${trace.describe()}`);
    }
  }
}

test.each([200, 2000])('window %d µs: concurrent saves are each durable before they resolve, raw crash last', async (windowUs) => {
  const storage = createFsStorage({ root, dumpField: FIELD, syncWindowUs: windowUs });
  try {
    checkCrash(1, await save(storage, 1));
    const ns = [2, 3, 4, 5, 6, 7];
    const answers = await Promise.all(ns.map((n) => save(storage, n)));
    ns.forEach((n, i) => checkCrash(n, answers[i]!));
  } finally {
    await storage.close();
  }
});

test('the default configuration: saves that start together share one fsync of each directory', async () => {
  // Without a window the first save's directory fsync starts at once, alone,
  // and the other five share a second one.
  const config = loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root });
  const storage = await createStorage(config, silentLogger);
  try {
    checkCrash(1, await save(storage, 1)); // makes the directories and opens their handles
    const since = trace.mark();
    const ns = [2, 3, 4, 5, 6, 7];
    const answers = await Promise.all(ns.map((n) => save(storage, n)));
    ns.forEach((n, i) => checkCrash(n, answers[i]!));
    const dumpDir = path.dirname(othersOf(idOf(2))[0]!);
    expect(trace.ok('sync', (c) => c.path === dumpDir && c.start > since)).toHaveLength(1);
  } finally {
    await storage.close();
  }
});

test.each([0, 200])(
  'window %d µs: a crash whose dumps are created while a directory fsync runs is not answered on the strength of that fsync',
  async (windowUs) => {
    const storage = createFsStorage({ root, dumpField: FIELD, syncWindowUs: windowUs });
    try {
      checkCrash(1, await save(storage, 1));
      // Hold the next fsync of the dump directory: crash 2's round, started before crash 3's dump is created.
      const dumpDir = path.dirname(othersOf(idOf(2))[0]!);
      const release = trace.hold((c) => c.op === 'sync' && c.path === dumpDir);
      const second = save(storage, 2);
      await waitFor(
        'crash 2: the dump directory fsync to start',
        () => trace.calls.some((c) => c.op === 'sync' && c.path === dumpDir && c.end === undefined),
        20_000,
        5,
      );
      const third = save(storage, 3);
      await waitFor('crash 3: its dump created', () => trace.ok('open', (c) => c.path === othersOf(idOf(3))[0]).length === 1, 20_000, 5);
      release();
      const [a2, a3] = await Promise.all([second, third]);
      checkCrash(2, a2);
      checkCrash(3, a3);
    } finally {
      await storage.close();
    }
  },
);
