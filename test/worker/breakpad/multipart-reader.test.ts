import HeaderParser from '@fastify/busboy/deps/dicer/lib/HeaderParser';
import { MultipartReader, readPartHead, readPlainHeaderBlock, type PartHead } from '../../../src/worker/breakpad/multipart-reader';
import { multipartBody } from '../../../src/tools/multipart-body';
import { rngFor } from '../../../chaos/lib/corpus';

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

  describe('a plain header block, read from the bytes', () => {
    /** What HeaderParser makes of `block` (a fresh one, given it whole, as the reader would): the head and the bytes it used. */
    function viaHeaderParser(block: Buffer, maxHeaderSize: number) {
      const parser = new HeaderParser({ maxHeaderPairs: 2000, maxHeaderSize });
      let header: Record<string, string[]> | undefined;
      parser.on('header', (h: Record<string, string[]>) => (header = h));
      const used = parser.push(block);
      return header === undefined ? undefined : { head: readPartHead(header), used };
    }

    // Lines a client may send, and the ones HeaderParser reads its own way.
    const LINES = [
      'Content-Disposition: form-data; name="ProductName"',
      'content-disposition:form-data; name="upload_file_minidump"; filename="x.dmp"',
      'CONTENT-DISPOSITION:\tform-data; name=a',
      'Content-Disposition:  form-data; name="two spaces"',
      'Content-Disposition: attachment; name="b"',
      'Content-Disposition: form-data; name="caf\xe9"',
      'Content-Disposition: form-data; name="a\\"b"',
      'Content-Type: application/octet-stream',
      'content-type: Text/Plain; charset=utf-8',
      'Content-Type:',
      'Content-Typo: text/plain',
      'Content-Dispositio: form-data; name="c"',
      'X-Other: a: b',
      ' folded: continuation',
      '\tname="folded"',
      'no colon here',
      ': empty name',
      'bare\rCR: x',
      'bare\nLF: x',
      '',
    ];

    it('reads every block as HeaderParser does, or leaves it to HeaderParser', () => {
      const rng = rngFor(0x5eed, 0);
      let plain = 0;
      for (let n = 0; n < 5000; n++) {
        const lines = Array.from({ length: rng.int(1, 4) }, () => rng.pick(LINES));
        const lead = rng.pick(['', '\r\n', 'xx']);
        const block = Buffer.from(`${lead}${lines.join('\r\n')}\r\n\r\nbody bytes\r\n\r\n`, 'latin1');
        const maxHeaderSize = rng.pick([16384, 40, 8]);
        const start = rng.int(0, 2);
        const end = rng.pick([block.length, block.length - 12, rng.int(start, block.length - 1)]);
        const fast = readPlainHeaderBlock(block, start, end, maxHeaderSize);
        if (fast === undefined) continue;
        plain++;
        expect({ head: readPartHead(fast.header), used: fast.used }).toEqual(viaHeaderParser(block.subarray(start, end), maxHeaderSize));
      }
      // Most blocks drawn hold a line only HeaderParser reads; enough are plain to compare.
      expect(plain).toBeGreaterThan(400);
    });

    it('reads the header blocks Breakpad and Crashpad send', () => {
      const body = multipartBody(
        [
          { name: 'ProductName', data: 'Firefox' },
          { name: 'upload_file_minidump', data: Buffer.from('MDMP'), filename: 'x.dmp', contentType: 'application/octet-stream' },
        ],
        B,
      );
      const second = body.indexOf('\r\n--' + B + '\r\n') + B.length + 4;
      const first = B.length + 2;
      for (const start of [first, second]) {
        const fast = readPlainHeaderBlock(body, start, body.length, 16384);
        expect(fast).toBeDefined();
        expect({ head: readPartHead(fast!.header), used: fast!.used }).toEqual(viaHeaderParser(body.subarray(start), 16384));
      }
      expect(readPartHead(readPlainHeaderBlock(body, second, body.length, 16384)!.header)).toEqual({
        name: 'upload_file_minidump',
        filename: 'x.dmp',
        mimeType: 'application/octet-stream',
      });
    });

    it('leaves to HeaderParser a block not whole in the write, too large, folded or with a bare line break', () => {
      const block = Buffer.from('\r\nContent-Disposition: form-data; name="a"\r\n\r\nx', 'latin1');
      expect(readPlainHeaderBlock(block, 0, block.length, 16384)).toEqual({
        header: { 'content-disposition': ['form-data; name="a"'] },
        used: block.length - 1,
      });
      expect(readPlainHeaderBlock(block, 0, block.length - 2, 16384)).toBeUndefined();
      expect(readPlainHeaderBlock(block, 0, block.length, block.length - 5)).toBeUndefined();
      for (const odd of ['\r\nA: b\r\n c\r\n\r\n', '\r\nA: b\rc\r\n\r\n', '\r\nA: b\nc\r\n\r\n', '\r\nA b\r\n\r\n', '\r\n:b\r\n\r\n']) {
        expect(readPlainHeaderBlock(Buffer.from(odd), 0, odd.length, 16384)).toBeUndefined();
      }
      // HeaderParser reads 2,000 lines of a block and no more.
      const long = Buffer.from(`${'X: y\r\n'.repeat(2000)}Content-Disposition: form-data; name="late"\r\n\r\n`);
      expect(viaHeaderParser(long, 1 << 20)!.head).toBeUndefined();
      expect(readPlainHeaderBlock(long, 0, long.length, 1 << 20)).toBeUndefined();
    });
  });
});
