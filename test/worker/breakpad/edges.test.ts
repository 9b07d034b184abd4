// Edge cases of the /submit request path's pure units, each at a limit or a
// branch that the broader tests do not pin down (found by mutation testing).
import { checkSubmitHeaders } from '../../../src/worker/breakpad/request-headers';
import { readPartHead } from '../../../src/worker/breakpad/multipart-reader';
import { classifyPart, PartCollector, PayloadBuilder } from '../../../src/worker/breakpad/payload-parts';
import { BodyRateFloor } from '../../../src/worker/breakpad/body-rate';
import { TurnBudget } from '../../../src/worker/breakpad/turn-budget';
import { MemoryBudget } from '../../../src/worker/breakpad/memory-budget';
import { bodyTimeout, malformed, Rejection, tooLarge } from '../../../src/worker/breakpad/rejection';
import { GZIP_RATIO_FLOOR, inflatedTooLarge } from '../../../src/worker/breakpad/gzip-body';
import { buildRawCrash, removePrivacyFields, utcNow } from '../../../src/worker/breakpad/raw-crash';

const MAX = 1000;
const ct = (v: string) => ({ 'content-type': v, 'content-length': '10' });
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Rejection) return `${err.status} ${err.body}`;
    throw err;
  }
  return 'accepted';
}

describe('checkSubmitHeaders: the boundary parameter', () => {
  test('quoted, padded, or after other parameters', () => {
    expect(checkSubmitHeaders(ct('multipart/form-data; boundary="a b"'), MAX).boundary).toBe('a b');
    expect(checkSubmitHeaders(ct('multipart/form-data;  boundary = abc '), MAX).boundary).toBe('abc');
    expect(checkSubmitHeaders(ct('multipart/form-data; charset=x; BOUNDARY=abc'), MAX).boundary).toBe('abc');
    expect(checkSubmitHeaders(ct('multipart/form-data; x; boundary=a=b'), MAX).boundary).toBe('a=b');
  });

  test('a lone or one-sided quote is kept as is', () => {
    expect(checkSubmitHeaders(ct('multipart/form-data; boundary="'), MAX).boundary).toBe('"');
    expect(checkSubmitHeaders(ct('multipart/form-data; boundary="abc'), MAX).boundary).toBe('"abc');
    expect(checkSubmitHeaders(ct('multipart/form-data; boundary=abc"'), MAX).boundary).toBe('abc"');
  });

  test('a parameter that only starts with `=` or is empty is no boundary', () => {
    expect(refusal(() => checkSubmitHeaders(ct('multipart/form-data; =abc'), MAX))).toBe('400 Discarded=malformed_no_boundary');
    expect(refusal(() => checkSubmitHeaders(ct('multipart/form-data; boundary='), MAX))).toBe('400 Discarded=malformed_no_boundary');
    expect(refusal(() => checkSubmitHeaders(ct('multipart/form-data; boundary=""'), MAX))).toBe('400 Discarded=malformed_no_boundary');
  });

  test('a blank content type, and a padded upper-case media type', () => {
    expect(refusal(() => checkSubmitHeaders(ct('   '), MAX))).toBe('400 Discarded=malformed_no_content_type');
    expect(checkSubmitHeaders(ct('  Multipart/Mixed ; boundary=b'), MAX).mediaType).toBe('multipart/mixed');
  });

  test('chunked bodies need no length; a length with chunked is ignored', () => {
    expect(checkSubmitHeaders({ 'content-type': 'multipart/form-data; boundary=b', 'transfer-encoding': 'chunked' }, MAX).contentLength).toBeUndefined();
    const h = checkSubmitHeaders({ 'content-type': 'multipart/form-data; boundary=b', 'transfer-encoding': 'gzip, Chunked', 'content-length': 'junk' }, MAX);
    expect(h.contentLength).toBeUndefined();
    expect(refusal(() => checkSubmitHeaders({ 'content-type': 'multipart/form-data; boundary=b', 'transfer-encoding': 'gzip' }, MAX))).toBe(
      '400 Discarded=malformed_no_content_length',
    );
    expect(checkSubmitHeaders(ct('multipart/form-data; boundary=b'), MAX).contentLength).toBe(10);
  });

  test('gzip by either name, any case and padding; anything else is not compressed', () => {
    const enc = (e?: string) =>
      checkSubmitHeaders({ ...ct('multipart/form-data; boundary=b'), ...(e === undefined ? {} : { 'content-encoding': e }) }, MAX).compressed;
    expect(enc(' GZip ')).toBe(true);
    expect(enc('x-gzip')).toBe(true);
    expect(enc('deflate')).toBe(false);
    expect(enc(undefined)).toBe(false);
    expect(enc('')).toBe(false);
  });
});

describe('readPartHead: busboy header reading', () => {
  const head = (disposition: string, type?: string) =>
    readPartHead({ 'content-disposition': [disposition], ...(type === undefined ? {} : { 'content-type': [type] }) });

  test('a bare or parameterised content type, lower-cased; empty is text/plain', () => {
    expect(head('form-data; name=a', 'Application/Octet-Stream')?.mimeType).toBe('application/octet-stream');
    expect(head('form-data; name=a', 'application/JSON; charset=utf-8')?.mimeType).toBe('application/json');
    expect(head('form-data; name=a', '')?.mimeType).toBe('text/plain');
    expect(head('form-data; name=a')?.mimeType).toBe('text/plain');
  });

  test('only exactly form-data; only exactly name and filename', () => {
    expect(head('form-data-x; name=a')).toBeUndefined();
    expect(head('x-form-data; name=a')).toBeUndefined();
    expect(head('form-data; names=a; name=b')?.name).toBe('b');
    expect(head('form-data; xname=a')?.name).toBeUndefined();
    expect(head('form-data; name=a; filenames=x')?.filename).toBeUndefined();
    expect(head('form-data; name=a; xfilename=x')?.filename).toBeUndefined();
    expect(head('form-data; name=a; filename=x.dmp')?.filename).toBe('x.dmp');
    expect(head('form-data; name=a; size=3')).toEqual({ name: 'a', filename: undefined, mimeType: 'text/plain' });
  });

  test('a filename with a bare line break skips the part', () => {
    expect(head('form-data; name=a; filename="x\ry"')).toBeUndefined();
    expect(head('form-data; name=a; filename="x\ny"')).toBeUndefined();
    expect(head('form-data; name="a\rb"')).toBeUndefined();
  });
});

describe('payload parts', () => {
  test('classification by the start of the media type', () => {
    expect(classifyPart('application/json; charset=utf-8', undefined)).toBe('json');
    expect(classifyPart('x/application/json', undefined)).toBe('dump');
    expect(classifyPart('text/plain; charset=utf-8', undefined)).toBe('text');
    expect(classifyPart('x/text/plain', undefined)).toBe('dump');
    expect(classifyPart('text/plain', 'a.txt')).toBe('dump');
  });

  test('an annotation of exactly the limit is kept; one byte more is too large', () => {
    const ok = new PartCollector('a', 'text', 'text/plain', 4);
    ok.push(Buffer.from('abcd'));
    expect(ok.bytes().toString()).toBe('abcd');
    const over = new PartCollector('a', 'text', 'text/plain', 4);
    expect(refusal(() => over.push(Buffer.from('abcde')))).toBe('413 Discarded=too_large');
  });

  test('a text or json part has no dump name', () => {
    expect(new PartCollector('a', 'text', 'text/plain', 4).dumpName).toBeUndefined();
    expect(new PartCollector('b', 'json', 'application/json', 4).dumpName).toBeUndefined();
  });

  test('JSON extra must be an object', () => {
    for (const text of ['3', '"s"', 'null', '[1]', 'true']) {
      const b = new PayloadBuilder();
      const p = new PartCollector('extra', 'json', 'application/json', 100);
      p.push(Buffer.from(text));
      expect(refusal(() => b.finished(p))).toBe('400 Discarded=malformed_invalid_json_value');
    }
  });

  test('JSON alone gets no both-kinds note', () => {
    const b = new PayloadBuilder();
    const p = new PartCollector('extra', 'json', 'application/json', 100);
    p.push(Buffer.from('{"ProductName":"F"}'));
    b.finished(p);
    expect(b.build()).toMatchObject({ annotations: { ProductName: 'F' }, notes: [], payload: 'json' });
  });
});

describe('small units', () => {
  test('BodyRateFloor: exactly the minimum rate passes; the window is measured from the first byte', () => {
    const floor = new BodyRateFloor(100, 1000);
    floor.received(100, 5000);
    expect(floor.tooSlow(5999)).toBe(false); // window not complete
    expect(floor.tooSlow(6000)).toBe(false); // 100 bytes in 1 s: exactly enough
    floor.received(99, 6500);
    expect(floor.tooSlow(7000)).toBe(true);
    const fresh = new BodyRateFloor(100, 1000);
    expect(fresh.tooSlow(1e9)).toBe(false); // no byte yet: no window
  });

  test('TurnBudget: renewed once per turn, however many spends', () => {
    const turns: Array<() => void> = [];
    const budget = new TurnBudget(10, (fn) => turns.push(fn));
    expect(budget.spend(6)).toBe(true);
    expect(budget.spend(4)).toBe(true);
    expect(turns).toHaveLength(1);
    expect(budget.spend(1)).toBe(false);
    turns.shift()!();
    expect(budget.spend(10)).toBe(true);
    expect(turns).toHaveLength(1);
    turns.shift()!();
    expect(budget.spend(5)).toBe(true);
    expect(turns).toHaveLength(1);
  });

  test('MemoryBudget: a second release gives nothing back twice', () => {
    const budget = new MemoryBudget(100, 1);
    const a = budget.hold();
    const b = budget.hold();
    expect(a.add(40)).toBe(true);
    expect(b.add(30)).toBe(true);
    a.release();
    a.release();
    expect(budget.inUse).toBe(30);
    expect(a.add(1)).toBe(false);
  });

  test('Rejections carry their status, body, reason and name', () => {
    expect([tooLarge(), bodyTimeout(), malformed('x')].map((r) => [r.name, r.status, r.body, r.reason, r.message])).toEqual([
      ['Rejection', 413, 'Discarded=too_large', 'too_large', 'Discarded=too_large'],
      ['Rejection', 408, 'Discarded=timeout', 'timeout', 'Discarded=timeout'],
      ['Rejection', 400, 'Discarded=malformed_x', 'x', 'Discarded=malformed_x'],
    ]);
  });

  test('inflatedTooLarge: strictly over each limit', () => {
    const limits = { maxDecompressedSize: 4 * GZIP_RATIO_FLOOR, maxGzipRatio: 10 };
    expect(inflatedTooLarge(4 * GZIP_RATIO_FLOOR, 1e9, limits)).toBe(false);
    expect(inflatedTooLarge(4 * GZIP_RATIO_FLOOR + 1, 1e9, limits)).toBe(true);
    // Up to the floor any ratio is fine.
    expect(inflatedTooLarge(GZIP_RATIO_FLOOR, 1, limits)).toBe(false);
    expect(inflatedTooLarge(GZIP_RATIO_FLOOR + 1, 1, limits)).toBe(true);
    // Past the floor: exactly the ratio passes, more does not.
    const received = (GZIP_RATIO_FLOOR + 10) / 10;
    expect(inflatedTooLarge(GZIP_RATIO_FLOOR + 10, received, limits)).toBe(false);
    expect(inflatedTooLarge(GZIP_RATIO_FLOOR + 11, received, limits)).toBe(true);
    expect(inflatedTooLarge(GZIP_RATIO_FLOOR + 11, received, { ...limits, maxGzipRatio: 0 })).toBe(false);
  });

  test('raw crash: every privacy field goes, payload_compressed 0, now is close to the clock', () => {
    const raw = buildRawCrash(
      {
        annotations: { Email: 'e', TelemetryClientId: 'c', TelemetryServerURL: 'u', TelemetrySessionId: 's', Keep: 'k' },
        dumps: new Map(),
        checksums: {},
        notes: [],
        payload: 'multipart',
        payloadSize: 1,
      },
      { now: utcNow(), compressed: false, userAgent: undefined },
    );
    expect(raw.metadata!.payload_compressed).toBe('0');
    removePrivacyFields(raw);
    expect(Object.keys(raw).filter((k) => !['submitted_timestamp', 'metadata', 'version'].includes(k))).toEqual(['Keep']);
    expect(Math.abs(utcNow().date.getTime() - Date.now())).toBeLessThan(60_000);
  });
});
