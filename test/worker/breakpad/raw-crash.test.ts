import { buildRawCrash, removePrivacyFields, utcNow } from '../../../src/worker/breakpad/raw-crash';
import type { ReadResult } from '../../../src/worker/breakpad/read-payload';
import { isStageSubmitter } from '../../../src/worker/breakpad/stage-submitter';

describe('utcNow', () => {
  it('formats ISO 8601 with microseconds and +00:00', () => {
    const now = utcNow(Date.UTC(2026, 10, 22, 17, 58, 3, 123) + 0.456);
    expect(now.iso).toBe('2026-11-22T17:58:03.123456+00:00');
    expect(now.date.toISOString()).toBe('2026-11-22T17:58:03.123Z');
    expect(utcNow().iso).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });
});

describe('buildRawCrash', () => {
  const read = (): ReadResult => ({
    annotations: { ProductName: 'Firefox', Email: 'a@b.c', TelemetryClientId: 'x' },
    dumps: new Map(),
    checksums: { upload_file_minidump: 'ab' },
    notes: ['n1'],
    payload: 'multipart',
    payloadSize: 1234,
  });

  it('adds timestamp, metadata and version', () => {
    const now = utcNow(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    const raw = buildRawCrash(read(), { now, compressed: true, userAgent: undefined });
    expect(raw).toEqual({
      ProductName: 'Firefox',
      Email: 'a@b.c',
      TelemetryClientId: 'x',
      submitted_timestamp: '2026-01-02T03:04:05.006000+00:00',
      version: 2,
      metadata: {
        payload: 'multipart',
        payload_compressed: '1',
        payload_size: 1234,
        collector_notes: ['n1'],
        dump_checksums: { upload_file_minidump: 'ab' },
        user_agent: 'None',
      },
    });
  });

  it('takes the annotations over, in their order, with what the collector adds after them', () => {
    const annotations = Object.assign(Object.create(null) as Record<string, unknown>, { b: '1', a: '2', ['__proto__']: 'kept' });
    const raw = buildRawCrash({ ...read(), annotations }, { now: utcNow(), compressed: false, userAgent: undefined });
    expect(raw).toBe(annotations);
    expect(Object.keys(raw)).toEqual(['b', 'a', '__proto__', 'submitted_timestamp', 'metadata', 'version']);
    expect(JSON.parse(JSON.stringify(raw)).__proto__).toBe('kept');
  });

  it('removes privacy fields with a note each', () => {
    const raw = buildRawCrash(read(), { now: utcNow(), compressed: false, userAgent: 'Crashpad/1' });
    removePrivacyFields(raw);
    expect(raw.Email).toBeUndefined();
    expect(raw.TelemetryClientId).toBeUndefined();
    expect(raw.metadata!.collector_notes).toEqual(['n1', 'Removed Email from raw crash.', 'Removed TelemetryClientId from raw crash.']);
    expect(raw.metadata!.user_agent).toBe('Crashpad/1');
  });
});

describe('isStageSubmitter', () => {
  it('requires a configured token and an exact Bearer match', () => {
    expect(isStageSubmitter('Bearer abc', 'abc')).toBe(true);
    expect(isStageSubmitter('Bearer abd', 'abc')).toBe(false);
    expect(isStageSubmitter('Bearer abcd', 'abc')).toBe(false);
    expect(isStageSubmitter('bearer abc', 'abc')).toBe(false);
    expect(isStageSubmitter(undefined, 'abc')).toBe(false);
    expect(isStageSubmitter('Bearer ', '')).toBe(false);
  });
});
