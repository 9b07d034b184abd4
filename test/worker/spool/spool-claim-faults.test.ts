/**
 * Claiming from ready/ when a rename does not go through: an entry another
 * worker renamed first (ENOENT) is simply theirs, not an error; any other
 * failure is logged, and the entry stays in ready/ for a later look. The
 * renames are failed at `node:fs/promises` (test/support/fs-trace). A
 * stopped sink claims nothing more.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import type { Logger } from '../../../src/shared/logging';
import { noopMetrics } from '../../../src/shared/metrics';
import { encodeEntry } from '../../../src/shared/spool/entry-codec';
import { entryFileName, spoolPaths, type SpoolPaths } from '../../../src/shared/spool/layout';
import type { CrashPublisher } from '../../../src/worker/publish/crash-publisher';
import { SpoolSink } from '../../../src/worker/spool/spool-sink';
import type { CrashStorage } from '../../../src/worker/storage/crash-storage';
import { FsTrace } from '../../support/fs-trace';
import { waitFor } from '../../support/wait';
import { testSpoolOptions } from '../../support/spool';

const OWNER = 4545;

let n = 0;
function crash(): CrashReport {
  n++;
  const id = `00000000-0000-4000-8000-${String(n).padStart(6, '0')}261202`;
  return { crashId: id, rawCrash: { ProductName: 'Test', uuid: id }, dumps: new Map([['upload_file_minidump', Buffer.alloc(100, n)]]) };
}

let root: string;
let paths: SpoolPaths;
let trace: FsTrace;
let sink: SpoolSink | undefined;
const lines: string[] = [];
const published: string[] = [];

const logger: Logger = {
  error: (m) => void lines.push(`error ${m}`),
  warn: (m) => void lines.push(`warn ${m}`),
  info: () => {},
  debug: () => {},
  child: () => logger,
};
const unused = { verify: async () => {}, checkHealth: async () => {}, close: async () => {} };
const storage: CrashStorage = { name: 'TestStorage', save: async () => {}, ...unused };
const publisher: CrashPublisher = { name: 'TestPublisher', publish: async (id) => void published.push(id), ...unused };

beforeEach(() => {
  root = path.join(mkdtempSync(path.join(os.tmpdir(), 'antenna-spool-claim-')), 'spool');
  paths = spoolPaths(root);
  lines.length = 0;
  published.length = 0;
  trace = new FsTrace().install();
});
afterEach(async () => {
  await sink?.stop();
  sink = undefined;
  trace.restore();
  rmSync(path.dirname(root), { recursive: true, force: true });
});

function inReady(c: CrashReport, spooledAt: number): string {
  mkdirSync(paths.ready, { recursive: true });
  const parts = encodeEntry(c);
  const name = entryFileName({ spooledAt, bytes: parts.reduce((x, p) => x + p.length, 0), crashId: c.crashId, state: 'crash' });
  writeFileSync(path.join(paths.ready, name), Buffer.concat(parts));
  return name;
}

async function start(concurrentMovers: number): Promise<SpoolSink> {
  sink = new SpoolSink(testSpoolOptions(paths, { concurrentMovers, owner: OWNER }), storage, publisher, logger, noopMetrics);
  await sink.start();
  return sink;
}

const claimOf = (name: string) => (c: { op: string; path: string; to?: string }) =>
  c.op === 'rename' && c.path === path.join(paths.ready, name) && c.to === path.join(paths.claimedBy(OWNER), name);

describe('spool: claiming from ready/', () => {
  it('takes an entry another worker renamed first as theirs: no error, and the next entry is claimed in the same look', async () => {
    const first = crash();
    const second = crash();
    const firstName = inReady(first, 1);
    inReady(second, 2);
    trace.fail(claimOf(firstName), 'ENOENT'); // as if another worker had renamed it a moment before
    await start(1); // one mover: one entry claimed per look
    await waitFor('both moved', () => published.length === 2, 15_000, 10);
    expect(published).toEqual([second.crashId, first.crashId]); // the first only at the next look (it was still there)
    expect(lines).toEqual([]);
    expect(readdirSync(paths.ready)).toEqual([]);
  });

  it('logs a rename that fails otherwise, and claims the entry at a later look', async () => {
    const c = crash();
    const name = inReady(c, 1);
    trace.fail(claimOf(name), 'EIO');
    await start(2);
    await waitFor('moved', () => published.includes(c.crashId), 15_000, 10);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^error cannot read the spool ${paths.ready.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*EIO`))]);
  });
});

describe('spool: after stop', () => {
  it('claims and moves nothing more: entries left in ready/ wait for the next start', async () => {
    const s = await start(1);
    await s.stop();
    const c = crash();
    const name = inReady(c, 1);
    await new Promise((r) => setTimeout(r, 200)); // many idle scans of a running mover
    expect(readdirSync(paths.ready)).toEqual([name]);
    expect(published).toEqual([]);
  });
});

describe('spool: an entry that cannot be deleted after its move', () => {
  it('is logged and tried again (its id published again, as docs/spool.md allows) until it is gone', async () => {
    const c = crash();
    const s = await start(1);
    trace.fail((call) => call.op === 'unlink' && call.path.startsWith(paths.claimedBy(OWNER)) && call.path.endsWith('.saved'), 'EIO');
    expect(await s.submit(c)).toBe('saved');
    await waitFor('deleted after a second try', () => s.handled === 1 && readdirSync(paths.claimedBy(OWNER)).length === 0, 15_000, 10);
    expect(published).toEqual([c.crashId, c.crashId]);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^error ${c.crashId}: spool entry .*\\.saved: .*EIO`))]);
  });
});
