import { MultipartReader, readPartHead, type PartHead } from '../../../src/worker/breakpad/multipart-reader';
import { multipartBody } from '../../../src/tools/multipart-body';

const B = 'XyZboundary';

interface Seen {
  head: PartHead;
  bytes: Buffer[];
  ended: boolean;
}

/** Parses `body` written as `chunks`; the parts seen (copied out), or the error thrown. */
function parse(body: Buffer, cuts: number[], opts: { maxParts?: number; maxHeaderSize?: number } = {}) {
  const parts: Seen[] = [];
  let limited = false;
  const reader = new MultipartReader<{ push(chunk: Buffer): void; seen: Seen }>(
    B,
    {
      part: (head) => {
        const seen: Seen = { head, bytes: [], ended: false };
        parts.push(seen);
        return { seen, push: (chunk) => seen.bytes.push(Buffer.from(chunk)) };
      },
      partEnd: (sink) => (sink.seen.ended = true),
      partsLimit: () => (limited = true),
    },
    { maxParts: opts.maxParts ?? 1000, maxHeaderSize: opts.maxHeaderSize ?? 16384 },
  );
  let from = 0;
  for (const at of [...cuts, body.length]) {
    reader.write(body.subarray(from, at));
    from = at;
  }
  try {
    reader.end();
  } catch (err) {
    return { parts, limited, error: (err as Error).message };
  }
  return { parts: parts.map((p) => ({ ...p.head, data: Buffer.concat(p.bytes).toString('latin1'), ended: p.ended })), limited };
}

describe('MultipartReader', () => {
  // Dump bytes that start the boundary's needle (CR LF - -) without finishing it, so a cut
  // between writes leaves a partial match behind, which must come back as the part's own bytes.
  const dump = Buffer.from('MDMP\r\n-\r\n--XyZbound\r\n--XyZboundar!\r\r\n\r\n--', 'latin1');
  const body = multipartBody(
    [
      { name: 'ProductName', data: 'Firefox' },
      { name: 'upload_file_minidump', data: dump, filename: 'dir/x.dmp', contentType: 'Application/Octet-Stream; x=y' },
    ],
    B,
  );
  const expected = [
    { name: 'ProductName', filename: undefined, mimeType: 'text/plain', data: 'Firefox', ended: true },
    { name: 'upload_file_minidump', filename: 'x.dmp', mimeType: 'application/octet-stream', data: dump.toString('latin1'), ended: true },
  ];

  it('hands over the same parts and bytes wherever the body is cut, once or twice', () => {
    expect(parse(body, [])).toEqual({ parts: expected, limited: false });
    for (let i = 1; i < body.length; i++) {
      expect(parse(body, [i])).toEqual({ parts: expected, limited: false });
      for (let j = i + 1; j < Math.min(body.length, i + 12); j++) expect(parse(body, [i, j])).toEqual({ parts: expected, limited: false });
    }
  });

  it('ignores a preamble and an epilogue', () => {
    const framed = Buffer.concat([Buffer.from('preamble\r\n--not-it\r\n'), body, Buffer.from('epilogue\r\n--XyZboundary\r\n')]);
    expect(parse(framed, [5, 40, framed.length - 3])).toEqual({ parts: expected, limited: false });
  });

  it('keeps the first maxHeaderSize bytes of a header block and drops the rest', () => {
    const long = multipartBody([{ name: 'A'.repeat(5000), data: 'x' }], B);
    const r = parse(long, [100, 2000, 4000], { maxHeaderSize: 1024 });
    expect(r.parts).toHaveLength(1);
    const name = (r.parts[0] as { name: string }).name;
    expect(name).toMatch(/^A+$/);
    expect(name.length).toBeGreaterThan(900);
    expect(name.length).toBeLessThan(1024);
  });

  it('reports an unterminated body and more parts than the limit', () => {
    expect(parse(body.subarray(0, body.length - 10), []).error).toBe('Unexpected end of multipart data');
    const many = multipartBody(
      Array.from({ length: 4 }, (_, i) => ({ name: `A${i}`, data: 'x' })),
      B,
    );
    expect(parse(many, [], { maxParts: 3 }).limited).toBe(true);
    expect(parse(many, [], { maxParts: 4 }).limited).toBe(false);
  });

  it('reads part headers as busboy does: skipped dispositions, parameters without a value', () => {
    expect(readPartHead({ 'content-disposition': ['attachment; name="a"'] })).toBeUndefined();
    expect(readPartHead({})).toBeUndefined();
    expect(readPartHead({ 'content-disposition': ['form-data; name="a\nb"'] })).toBeUndefined();
    expect(
      readPartHead({ 'content-disposition': ['Form-Data; NAME=a; filename="..\\\\..\\\\evil.dmp"'], 'content-type': ['TEXT/Plain;charset=latin1'] }),
    ).toEqual({
      name: 'a',
      filename: 'evil.dmp',
      mimeType: 'text/plain',
    });
  });
});
