import { failureKind, failureReason } from '../../../src/shared/failure';
import type { CrashReport } from '../../../src/shared/crash-report';
import { crashObjects } from '../../../src/worker/storage/crash-objects';

const ID = 'de1bb258-cbbf-4589-a673-34f800160918';
const crash = (rawCrash: Record<string, unknown>, dumps: Record<string, string> = {}): CrashReport => ({
  crashId: ID,
  rawCrash,
  dumps: new Map(Object.entries(dumps).map(([n, d]) => [n, Buffer.from(d)])),
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('crashObjects', () => {
  it.each([100, 3_000, 100_000])('writes a raw crash whose annotation nests %i deep (it used to overflow the stack)', (depth) => {
    const deep = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown;
    const { last } = crashObjects(crash({ Deep: deep, ProductName: 'Test' }), 'upload_file_minidump');
    expect(last.key).toBe(`v1/raw_crash/20160918/${ID}`);
    expect(String(last.data)).toBe(`{"Deep":${'['.repeat(depth) + ']'.repeat(depth)},"ProductName":"Test"}`);
  });

  it('refuses, as permanent, two dumps that would share a key: `dump` and the dump field', () => {
    const err = thrown(() => crashObjects(crash({}, { dump: 'a', upload_file_minidump: 'b' }), 'upload_file_minidump'));
    expect(failureKind(err)).toBe('permanent');
    expect(failureReason(err)).toBe('invalid_dump_name');
    expect(failureReason(thrown(() => crashObjects(crash({}, { x: 'a', dump: 'b' }), 'x')))).toBe('invalid_dump_name');
    // Distinct keys are fine.
    expect(crashObjects(crash({}, { upload_file_minidump: 'a', memory_report: 'b' }), 'upload_file_minidump').first.map((o) => o.key)).toEqual([
      `v1/dump_names/${ID}`,
      `v1/dump/${ID}`,
      `v1/memory_report/${ID}`,
    ]);
  });

  it('calls a raw crash that cannot be written as JSON a permanent failure, not a transient one', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const err = thrown(() => crashObjects(crash(cyclic), 'upload_file_minidump'));
    expect(failureKind(err)).toBe('permanent');
    expect(failureReason(err)).toBe('unserializable');
  });
});
