/**
 * What makes a spooled crash durable before submit() answers 'saved' (and the
 * HTTP layer answers 200 CrashID=…), observed at the `node:fs/promises` calls
 * (test/support/fs-trace): the entry is written under a temporary name in
 * tmp/, fsynced, renamed into its directory, and that directory fsynced. A
 * failure of any of those syncs refuses the crash instead.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import { noopMetrics } from '../../../src/shared/metrics';
import { spoolPaths, type SpoolPaths } from '../../../src/shared/spool/layout';
import { SinkRefusal } from '../../../src/worker/crashmover/crash-sink';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { SpoolSink } from '../../../src/worker/spool/spool-sink';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { silentLogger } from '../../support/backend-unit';
import { fakeDump } from '../../support/crashes';
import { durableWrite, FsTrace, type CallMatcher } from '../../support/fs-trace';
import { tempDir } from '../../support/server';
import { testSpoolOptions } from '../../support/spool';

const OWNER = 4242;

let n = 0;
function crash(): CrashReport {
  n++;
  const id = `00000000-0000-4000-8000-${String(n).padStart(6, '0')}261130`;
  return { crashId: id, rawCrash: { ProductName: 'Test', uuid: id }, dumps: new Map([['upload_file_minidump', fakeDump(50_000, n)]]) };
}

const unused = { verify: async () => {}, checkHealth: async () => {}, close: async () => {} };
const storage: CrashStorage = { name: 'Unused', save: async () => {}, ...unused };
const publisher: CrashPublisher = { name: 'Unused', publish: async () => {}, ...unused };

let root: string;
let paths: SpoolPaths;
let trace: FsTrace;

/** A sink with no movers: only submit() touches the spool. */
async function sink(maxClaimed: number): Promise<SpoolSink> {
  const s = new SpoolSink(
    testSpoolOptions(paths, { concurrentMovers: 0, maxClaimed, backoffMaxMs: 100, owner: OWNER }),
    storage,
    publisher,
    silentLogger,
    noopMetrics,
  );
  await s.start();
  return s;
}

const entries = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.'));

beforeEach(() => {
  root = tempDir();
  paths = spoolPaths(root);
  trace = new FsTrace().install();
});

afterEach(() => {
  trace.restore();
  rmSync(root, { recursive: true, force: true });
});

describe('spool submit(): durable before it answers', () => {
  test.each([
    ['claimed/<pid>', 100],
    ['ready', 0],
  ])('an entry in %s is written in tmp/, fsynced, renamed, its directory fsynced, all before submit() answers saved', async (_where, maxClaimed) => {
    const s = await sink(maxClaimed);
    const dir = maxClaimed > 0 ? paths.claimedBy(OWNER) : paths.ready;
    for (let i = 0; i < 3; i++) {
      const c = crash();
      const outcome = await s.submit(c);
      const answer = trace.mark();
      expect(outcome).toBe('saved');
      const name = entries(dir).find((f) => f.includes(c.crashId));
      expect(name).toBeDefined();
      const w = durableWrite(trace, path.join(dir, name!), answer);
      expect(path.dirname(w.open.path)).toBe(paths.tmp);
    }
    await s.stop();
  });

  const failing: Array<[string, CallMatcher]> = [
    ["the entry's fsync", (c) => c.op === 'sync' && path.dirname(c.path) === paths.tmp],
    ["its directory's fsync", (c) => c.op === 'sync' && c.path === paths.claimedBy(OWNER)],
    ['its rename', (c) => c.op === 'rename'],
  ];
  test.each(failing)('when %s fails, the crash is refused (503 + Retry-After), never answered saved', async (_what, matcher) => {
    const s = await sink(100);
    trace.fail(matcher);
    const err = await s.submit(crash()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SinkRefusal);
    expect(err).toMatchObject({ retryAfterSeconds: 7, reason: 'write_error' });
    expect(trace.calls.some((c) => c.error === 'EIO')).toBe(true);
    // Nothing half-written is left under a temporary name.
    expect(readdirSync(paths.tmp)).toEqual([]);
    // The disk recovered: the next crash is spooled.
    expect(await s.submit(crash())).toBe('saved');
    await s.stop();
  });
});
