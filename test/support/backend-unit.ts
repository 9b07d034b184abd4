/** What the unit tests of the storage and publish backends share. */
import { Writable } from 'node:stream';
import type { CrashReport } from '../../src/shared/crash-report';
import { failureKind, failureReason } from '../../src/shared/failure';
import { createLogger } from '../../src/shared/logging';
import { fakeDump } from './crashes';

/** A logger that writes nothing. */
export const silentLogger = createLogger({
  level: 'ERROR',
  localDevEnv: true,
  hostname: 'test',
  stream: new Writable({ write: (_chunk, _enc, cb) => cb() }),
});

/** A crash id dated 2016-09-18 (SPEC §1.4's example). */
export const CRASH_ID = 'de1bb258-cbbf-4589-a673-34f800160918';

/** A crash with id CRASH_ID and the given dumps (default: one 4 KiB minidump). */
export function testCrash(dumps: Record<string, Buffer> = { upload_file_minidump: fakeDump(4096) }): CrashReport {
  return {
    crashId: CRASH_ID,
    rawCrash: { uuid: CRASH_ID, ProductName: 'Firefox', Version: '140.0', metadata: { dump_checksums: {}, collector_notes: [] } },
    dumps: new Map(Object.entries(dumps)),
  };
}

/** Awaits a promise that must reject; returns the error and how long it took. */
export async function rejection(p: Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const start = Date.now();
  try {
    await p;
  } catch (err) {
    return { err: err as Error, ms: Date.now() - start };
  }
  throw new Error('expected a rejection, but it resolved');
}

/**
 * A fresh fake for each test (handed to `set`); after each test, the closers
 * registered with the returned function run (newest first, errors ignored),
 * then the fake stops.
 */
export function freshFakeEachTest<F extends { stop(): Promise<unknown> }>(
  start: () => Promise<F>,
  set: (fake: F) => void,
): (close: () => Promise<unknown>) => void {
  let fake: F | undefined;
  let closers: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    closers = [];
    fake = await start();
    set(fake);
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await fake?.stop();
  });
  return (close) => void closers.push(close);
}

/** The kind and reason a backend error carries (src/shared/failure). */
export function kindOf(err: unknown): { kind: string; reason: string } {
  return { kind: failureKind(err), reason: failureReason(err) };
}
