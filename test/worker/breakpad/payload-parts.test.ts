import { PartCollector, PayloadBuilder, type PayloadRules } from '../../../src/worker/breakpad/payload-parts';
import { Rejection } from '../../../src/worker/breakpad/rejection';

const MAX_ANNOTATION = 5 * 1024 * 1024;

/** Builds a payload from parts the way read-payload feeds them; the rejection body, or the payload. */
function build(parts: Array<{ name: string; kind: 'json' | 'dump'; data: string }>, rules: Partial<PayloadRules> = {}) {
  const builder = new PayloadBuilder(rules);
  try {
    for (const p of parts) {
      const part = new PartCollector(p.name, p.kind, p.kind === 'json' ? 'application/json' : 'application/octet-stream', MAX_ANNOTATION);
      builder.started(part);
      part.push(Buffer.from(p.data));
      builder.finished(part);
    }
    return builder.build();
  } catch (err) {
    if (err instanceof Rejection) return `${err.status} ${err.body}`;
    throw err;
  }
}

const extra = (json: string) => ({ name: 'extra', kind: 'json' as const, data: json });
const nested = (depth: number) => `{"ProductName":"Test","Deep":${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}}`;

describe('PayloadBuilder: JSON depth (BREAKPAD_MAX_JSON_DEPTH)', () => {
  it('accepts annotations nested 100 deep with the default limit', () => {
    const payload = build([extra(nested(100))]);
    expect(typeof payload).toBe('object');
  });

  it.each([3_000, 100_000])('refuses %i levels with 400 malformed_json_too_deep (the check itself does not recurse)', (depth) => {
    expect(build([extra(nested(depth))])).toBe('400 Discarded=malformed_json_too_deep');
  });

  it('applies the configured limit exactly: the top object is level 1', () => {
    expect(typeof build([extra(nested(10))], { maxJsonDepth: 10 })).toBe('object');
    expect(build([extra(nested(11))], { maxJsonDepth: 10 })).toBe('400 Discarded=malformed_json_too_deep');
  });

  it('accepts huge flat objects and arrays within the annotation size', () => {
    const keys = Array.from({ length: 300_000 }, (_, i) => `"k${i}":0`).join(',');
    expect(typeof build([extra(`{${keys}}`)])).toBe('object');
    expect(typeof build([extra(`{"List":[${new Array(1_000_000).fill(0).join(',')}]}`)])).toBe('object');
  });
});

describe('PayloadBuilder: dumps that share a storage key', () => {
  const dump = (name: string) => ({ name, kind: 'dump' as const, data: `bytes of ${name}` });

  it('refuses `dump` next to the dump field (both would be v1/dump/<id>)', () => {
    expect(build([extra('{"ProductName":"Test"}'), dump('upload_file_minidump'), dump('dump')])).toBe('400 Discarded=malformed_invalid_dump_name');
    expect(build([extra('{"ProductName":"Test"}'), dump('x'), dump('dump')], { dumpField: 'x' })).toBe('400 Discarded=malformed_invalid_dump_name');
  });

  it('accepts either alone, and a field named like the default when another field is configured', () => {
    expect(typeof build([extra('{"ProductName":"Test"}'), dump('dump')])).toBe('object');
    expect(typeof build([extra('{"ProductName":"Test"}'), dump('x'), dump('upload_file_minidump')], { dumpField: 'x' })).toBe('object');
  });
});
