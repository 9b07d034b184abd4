import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { toBuffer } from '../../../src/shared/crash-report';
import type { IncomingMessage } from 'node:http';
import { readPayload as readPayloadHolding, type PayloadLimits } from '../../../src/worker/breakpad/read-payload';
import { GZIP_RATIO_FLOOR } from '../../../src/worker/breakpad/gzip-body';
import { randomBytes } from 'node:crypto';
import { MemoryBudget } from '../../../src/worker/breakpad/memory-budget';
import { Rejection } from '../../../src/worker/breakpad/rejection';
import { checkSubmitHeaders, MAX_BOUNDARY_LENGTH, type SubmitHeaders } from '../../../src/worker/breakpad/request-headers';
import { multipartBody, type Part } from '../../../src/tools/multipart-body';
import { fakeRequest } from './fake-request';
import { TurnBudget } from '../../../src/worker/breakpad/turn-budget';

const LIMITS: PayloadLimits = {
  maxPayloadSize: 26214400,
  maxDecompressedSize: 104857600,
  maxParts: 1000,
  maxAnnotationSize: 5242880,
  maxPartHeaderSize: 16384,
  maxGzipRatio: 100,
  bodyTimeoutMs: 30000,
  minBodyRate: 0,
  minBodyRateWindowMs: 30000,
  turnBudget: new TurnBudget(512 * 1024),
  memoryBudget: new MemoryBudget(1 << 30, 30),
};

/** readPayload with a share of the limits' memory budget, released once it settles. */
function readPayload(req: IncomingMessage, headers: SubmitHeaders, limits: PayloadLimits) {
  const held = limits.memoryBudget.hold();
  // The tests read the parts after the budget is given back: lent to them, the bytes are never freed by hand.
  held.buffers.lend();
  return readPayloadHolding(req, headers, limits, held).finally(() => held.release());
}
const B = 'XyZboundary';

function read(body: Buffer, opts: { gzip?: boolean; limits?: Partial<PayloadLimits>; chunks?: number; hang?: boolean; type?: string } = {}) {
  const headers = checkSubmitHeaders(
    {
      'content-type': `${opts.type ?? 'multipart/form-data'}; boundary=${B}`,
      'content-length': String(body.length),
      ...(opts.gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    LIMITS.maxPayloadSize,
  );
  const n = opts.chunks ?? 1;
  const size = Math.ceil(body.length / n);
  const chunks = Array.from({ length: n }, (_, i) => body.subarray(i * size, (i + 1) * size));
  return readPayload(fakeRequest(chunks, { hang: opts.hang }), headers, { ...LIMITS, ...opts.limits });
}

async function rejected(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Rejection) return `${err.status} ${err.body}`;
    throw err;
  }
  throw new Error('expected a rejection');
}

const dump = Buffer.from([0x4d, 0x44, 0x4d, 0x50, 0x93, 0xa7, 0, 0, 0xff, 0x0d, 0x0a, 0x2d, 0x2d]);

describe('readPayload', () => {
  it('reads text annotations and a dump byte for byte, hashing it', async () => {
    const parts: Part[] = [
      { name: 'ProductName', data: 'Firefox' },
      { name: 'Version', data: '1.0', contentType: 'text/plain; charset=utf-8' },
      { name: 'upload_file_minidump', data: dump, filename: 'x.dmp', contentType: 'application/octet-stream' },
    ];
    const body = multipartBody(parts, B);
    for (const chunks of [1, 7, body.length]) {
      const r = await read(body, { chunks });
      expect({ ...r.annotations }).toEqual({ ProductName: 'Firefox', Version: '1.0' });
      expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dump)).toBe(true);
      expect(r.checksums).toEqual({ upload_file_minidump: createHash('sha256').update(dump).digest('hex') });
      expect(r.payload).toBe('multipart');
      expect(r.notes).toEqual([]);
      expect(r.payloadSize).toBe(body.length);
    }
  });

  it('reads the same bytes when every chunk exceeds the turn budget and waits for the next turn', async () => {
    const big = Buffer.alloc(300_000, 7);
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Firefox' },
        { name: 'upload_file_minidump', data: big, filename: 'x.dmp' },
      ],
      B,
    );
    for (const gzip of [false, true]) {
      const wire = gzip ? gzipSync(body) : body;
      const r = await read(wire, { gzip, chunks: 9, limits: { turnBudget: new TurnBudget(1) } });
      expect(r.annotations.ProductName).toBe('Firefox');
      expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(big)).toBe(true);
      expect(r.payloadSize).toBe(wire.length);
    }
  });

  it('makes a plain body wait for the next turn once the turn budget is spent', async () => {
    const big = Buffer.alloc(300_000, 7);
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Firefox' },
        { name: 'upload_file_minidump', data: big, filename: 'x.dmp' },
      ],
      B,
    );
    let deferred = 0;
    // The budget's own renewal goes through nextTurn too: count only the uploads sent to wait.
    const budget = new TurnBudget(1, setImmediate);
    const wait = budget.waitForNextTurn.bind(budget);
    budget.waitForNextTurn = (fn) => {
      deferred++;
      wait(fn);
    };
    const r = await read(body, { chunks: 6, limits: { turnBudget: budget } });
    expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(big)).toBe(true);
    expect(deferred).toBeGreaterThan(0);
  });

  it('finishes the upload that started first before the next goes on, when each turn spends the budget', async () => {
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Firefox' },
        { name: 'upload_file_minidump', data: Buffer.alloc(40_000, 3), filename: 'x.dmp' },
      ],
      B,
    );
    let turns = 0;
    const budget = new TurnBudget(1, (fn) => {
      turns++;
      setImmediate(fn);
    });
    const doneAt: Record<string, number> = {};
    const both = ['older', 'younger'].map((name) =>
      read(body, { chunks: 20, limits: { turnBudget: budget } }).then((r) => {
        doneAt[name] = turns;
        return r;
      }),
    );
    for (const r of await Promise.all(both)) expect(toBuffer(r.dumps.get('upload_file_minidump')!).length).toBe(40_000);
    // One chunk per turn each, side by side, would finish both in the same turn.
    expect(doneAt.older).toBeLessThan(doneAt.younger - 15);
  });

  it('accepts multipart/mixed', async () => {
    const r = await read(multipartBody([{ name: 'A', data: 'b' }], B), { type: 'multipart/mixed' });
    expect({ ...r.annotations }).toEqual({ A: 'b' });
  });

  it('takes annotations from a JSON part, and lets it win over text parts with a note', async () => {
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Ignored' },
        { name: 'extra', data: JSON.stringify({ ProductName: 'Firefox', Nested: { a: 1 } }), contentType: 'application/json' },
      ],
      B,
    );
    const r = await read(body);
    expect(r.annotations).toEqual({ ProductName: 'Firefox', Nested: { a: 1 } });
    expect(r.payload).toBe('json');
    expect(r.notes).toEqual(['includes annotations in both json-encoded extra and formdata parts']);
  });

  it('rejects invalid JSON and a JSON value that is not an object', async () => {
    const bad = multipartBody([{ name: 'extra', data: '{"a":', contentType: 'application/json' }], B);
    expect(await rejected(read(bad))).toBe('400 Discarded=malformed_invalid_json');
    const arr = multipartBody([{ name: 'extra', data: '[1,2]', contentType: 'application/json' }], B);
    expect(await rejected(read(arr))).toBe('400 Discarded=malformed_invalid_json_value');
  });

  it('drops a text part that is not valid UTF-8, with a note', async () => {
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'Bad', data: Buffer.from([0x66, 0xff, 0xfe]) },
      ],
      B,
    );
    const r = await read(body);
    expect({ ...r.annotations }).toEqual({ ProductName: 'Test' });
    expect(r.notes).toEqual(['extract payload text part exception: invalid text or charset: utf-8']);
  });

  it('treats unknown part types as dumps with a note, drops nameless parts, sanitizes dump names', async () => {
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { data: 'no name at all' },
        { name: 'upload_file_minidump', data: 'text dump', contentType: 'text/plain', filename: 'd.txt' },
        { name: 'memory-report.json.gz!', data: dump, contentType: 'application/x-gzip' },
        { name: 'a'.repeat(40), data: dump, contentType: 'application/octet-stream' },
      ],
      B,
    );
    const r = await read(body);
    expect([...r.dumps.keys()].sort()).toEqual(['a'.repeat(30), 'memoryreportjsongz', 'upload_file_minidump']);
    expect(toBuffer(r.dumps.get('upload_file_minidump')!).toString()).toBe('text dump');
    expect(r.notes).toEqual(['unknown content type: upload_file_minidump text/plain', 'unknown content type: memory-report.json.gz! application/x-gzip']);
  });

  it.each(['dump_names', 'raw_crash', 'processed_crash', '!!!'])('rejects the dump name %s', async (name) => {
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name, data: dump, contentType: 'application/octet-stream' },
      ],
      B,
    );
    expect(await rejected(read(body))).toBe('400 Discarded=malformed_invalid_dump_name');
  });

  it('rejects a body without annotations', async () => {
    const body = multipartBody([{ name: 'upload_file_minidump', data: dump, contentType: 'application/octet-stream' }], B);
    expect(await rejected(read(body))).toBe('400 Discarded=malformed_no_annotations');
    expect(await rejected(read(multipartBody([{ name: 'extra', data: '{}', contentType: 'application/json' }], B)))).toBe(
      '400 Discarded=malformed_no_annotations',
    );
  });

  it.each([
    ['wrong boundary', multipartBody([{ name: 'A', data: 'b' }], 'other')],
    ['truncated', multipartBody([{ name: 'A', data: 'b' }], B).subarray(0, 30)],
    ['junk', Buffer.from('this is not multipart at all')],
  ])('rejects a broken structure: %s', async (_name, body) => {
    expect(await rejected(read(body))).toBe('400 Discarded=malformed_invalid_payload_structure');
  });

  it('decompresses gzip bodies as a stream', async () => {
    const plain = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'upload_file_minidump', data: dump, contentType: 'application/octet-stream' },
      ],
      B,
    );
    const body = gzipSync(plain);
    const r = await read(body, { gzip: true, chunks: 5 });
    expect({ ...r.annotations }).toEqual({ ProductName: 'Test' });
    expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dump)).toBe(true);
    expect(r.payloadSize).toBe(body.length);
    // Measured for a gzip body (it feeds gzipped_crash_decompress), and only for one.
    expect(Number.isFinite(r.decompressMs) && r.decompressMs! >= 0).toBe(true);
    expect((await read(plain)).decompressMs).toBeUndefined();
  });

  it('rejects bad gzip', async () => {
    const plain = multipartBody([{ name: 'ProductName', data: 'Test' }], B);
    expect(await rejected(read(plain, { gzip: true }))).toBe('400 Discarded=malformed_bad_gzip');
    expect(await rejected(read(gzipSync(plain).subarray(0, 20), { gzip: true }))).toBe('400 Discarded=malformed_bad_gzip');
  });

  it('refuses a gzip bomb past the decompressed limit with 413', async () => {
    const plain = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'd', data: Buffer.alloc(2_000_000), contentType: 'application/octet-stream' },
      ],
      B,
    );
    const body = gzipSync(plain);
    expect(await rejected(read(body, { gzip: true, limits: { maxDecompressedSize: 1_000_000, maxPayloadSize: 100_000 } }))).toBe('413 Discarded=too_large');
  });

  describe('gzip bodies inflated on the event loop as they arrive', () => {
    /** A crash whose gzip body is about `wire` bytes (random dump bytes do not compress) and inflates to about `wire` + `zeros`. */
    const crash = (wire: number, zeros = 0) => {
      const dumpBytes = Buffer.concat([randomBytes(wire), Buffer.alloc(zeros)]);
      const plain = multipartBody(
        [
          { name: 'ProductName', data: 'Test' },
          { name: 'upload_file_minidump', data: dumpBytes, contentType: 'application/octet-stream' },
        ],
        B,
      );
      return { plain, dumpBytes, body: gzipSync(plain) };
    };

    it('reads small and large bodies, in one chunk or many, byte for byte', async () => {
      for (const [wire, zeros] of [
        [1000, 0],
        [70_000, 0],
        [1000, 1_100_000],
      ]) {
        const { body, dumpBytes } = crash(wire!, zeros);
        for (const chunks of [1, 7, 301]) {
          const r = await read(body, { gzip: true, chunks });
          expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dumpBytes)).toBe(true);
          expect(r.checksums.upload_file_minidump).toBe(createHash('sha256').update(dumpBytes).digest('hex'));
          expect(r.payloadSize).toBe(body.length);
        }
      }
    });

    it('BREAKPAD_MAX_DECOMPRESSED_SIZE holds to the byte', async () => {
      for (const zeros of [50_000, 1_100_000]) {
        const { plain, body } = crash(1000, zeros);
        expect((await read(body, { gzip: true, limits: { maxDecompressedSize: plain.length } })).annotations).toEqual({ ProductName: 'Test' });
        expect(await rejected(read(body, { gzip: true, limits: { maxDecompressedSize: plain.length - 1 } }))).toBe('413 Discarded=too_large');
      }
    });

    it('refuses a cut or corrupt gzip body with 400 bad_gzip', async () => {
      for (const wire of [10_000, 100_000]) {
        const { body } = crash(wire);
        expect(await rejected(read(body.subarray(0, body.length - 100), { gzip: true, chunks: 4 }))).toBe('400 Discarded=malformed_bad_gzip');
        const corrupt = Buffer.from(body);
        corrupt.fill(0xff, 10, 200);
        expect(await rejected(read(corrupt, { gzip: true, chunks: 4 }))).toBe('400 Discarded=malformed_bad_gzip');
        // Bytes after the gzip data that are not another gzip member: node:zlib's gunzip refuses them too.
        expect(await rejected(read(Buffer.concat([body, Buffer.from('trailing junk')]), { gzip: true, chunks: 4 }))).toBe('400 Discarded=malformed_bad_gzip');
      }
    });

    it('reads a body of two gzip members, or with zero padding after its gzip data, as node:zlib does', async () => {
      const { plain, body, dumpBytes } = crash(5000);
      const half = plain.length >> 1;
      const members = Buffer.concat([gzipSync(plain.subarray(0, half)), gzipSync(plain.subarray(half))]);
      for (const wire of [members, Buffer.concat([body, Buffer.alloc(5000)])]) {
        for (const chunks of [1, 9]) {
          const r = await read(wire, { gzip: true, chunks });
          expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dumpBytes)).toBe(true);
        }
      }
    });

    it('makes a body that inflates far past its size wait for the next turn as it inflates, not per wire chunk', async () => {
      // 3 MB of zeros is ~3 KB gzipped: one wire chunk, 48 slices of inflated bytes.
      const { body, dumpBytes } = crash(1000, 3_000_000);
      let deferred = 0;
      const budget = new TurnBudget(512 * 1024, setImmediate);
      const wait = budget.waitForNextTurn.bind(budget);
      budget.waitForNextTurn = (fn) => {
        deferred++;
        wait(fn);
      };
      const r = await read(body, { gzip: true, chunks: 1, limits: { turnBudget: budget } });
      expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dumpBytes)).toBe(true);
      // About one wait per 512 KiB inflated.
      expect(deferred).toBeGreaterThanOrEqual(4);
    });
  });

  it('refuses more bytes than the wire limit while counting', async () => {
    const body = multipartBody([{ name: 'ProductName', data: 'x'.repeat(5000) }], B);
    const headers = checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'transfer-encoding': 'chunked' }, 1000);
    const p = readPayload(fakeRequest([body.subarray(0, 600), body.subarray(600)]), headers, { ...LIMITS, maxPayloadSize: 1000 });
    expect(await rejected(p)).toBe('413 Discarded=too_large');
  });

  it('limits the number of parts, annotation size and part header size', async () => {
    const many = multipartBody(
      Array.from({ length: 11 }, (_, i) => ({ name: `A${i}`, data: 'x' })),
      B,
    );
    expect(await rejected(read(many, { limits: { maxParts: 10 } }))).toBe('400 Discarded=malformed_invalid_payload_structure');
    const big = multipartBody([{ name: 'A', data: 'x'.repeat(2000) }], B);
    expect(await rejected(read(big, { limits: { maxAnnotationSize: 1000 } }))).toBe('413 Discarded=too_large');
  });

  it('bounds the memory a part header can take: a 1 MiB header is cut at the limit', async () => {
    const header = multipartBody([{ name: 'A'.repeat(1 << 20), data: 'x' }], B);
    const r = await read(header, { limits: { maxPartHeaderSize: 1024 }, chunks: 64 });
    const names = Object.keys(r.annotations);
    expect(names).toHaveLength(1);
    expect(names[0]!.length).toBeLessThan(1024);
  });

  it('parses a body with the longest boundary the header check lets through', async () => {
    const boundary = 'b'.repeat(MAX_BOUNDARY_LENGTH);
    const body = multipartBody([{ name: 'ProductName', data: 'Firefox' }], boundary);
    const headers = checkSubmitHeaders(
      { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(body.length) },
      LIMITS.maxPayloadSize,
    );
    const r = await readPayload(fakeRequest([body]), headers, LIMITS);
    expect({ ...r.annotations }).toEqual({ ProductName: 'Firefox' });
  });

  it('refuses a boundary the parser cannot take with a 400, and leaves no timer behind to fire', async () => {
    const boundary = 'b'.repeat(MAX_BOUNDARY_LENGTH + 1);
    const body = multipartBody([{ name: 'ProductName', data: 'Firefox' }], boundary);
    // Past the header check (which refuses it): the parser's own limit must still end cleanly.
    const headers: SubmitHeaders = { mediaType: 'multipart/form-data', boundary, compressed: false, contentLength: body.length };
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const p = readPayload(fakeRequest([body], { hang: true }), headers, { ...LIMITS, bodyTimeoutMs: 20 });
      expect(await rejected(p)).toBe('400 Discarded=malformed_invalid_payload_structure');
      await new Promise((r) => setTimeout(r, 100)); // past bodyTimeoutMs
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('times out a body that stops arriving', async () => {
    const body = multipartBody([{ name: 'A', data: 'x' }], B);
    const headers = checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length) }, LIMITS.maxPayloadSize);
    const p = readPayload(fakeRequest([body.subarray(0, 10)], { hang: true }), headers, { ...LIMITS, bodyTimeoutMs: 200 });
    expect(await rejected(p)).toBe('408 Discarded=timeout');
  });
});

describe('readPayload: bounded amplification and memory', () => {
  it('refuses a gzip body past the ratio limit once it inflates past the floor, whatever the decompressed limit', async () => {
    const plain = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'd', data: Buffer.alloc(GZIP_RATIO_FLOOR + (1 << 20)), contentType: 'application/octet-stream' },
      ],
      B,
    );
    const body = gzipSync(plain);
    expect(plain.length / body.length).toBeGreaterThan(100);
    expect(await rejected(read(body, { gzip: true, limits: { maxDecompressedSize: 100 << 20 } }))).toBe('413 Discarded=too_large');
    // Without the ratio limit, the same body is accepted.
    const r = await read(body, { gzip: true, limits: { maxDecompressedSize: 100 << 20, maxGzipRatio: 0 } });
    expect(r.dumps.has('d')).toBe(true);
  });

  it('accepts any ratio below the floor', async () => {
    const plain = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'd', data: Buffer.alloc(GZIP_RATIO_FLOOR - (1 << 20)), contentType: 'application/octet-stream' },
      ],
      B,
    );
    const r = await read(gzipSync(plain), { gzip: true, limits: { maxGzipRatio: 2 } });
    expect(r.dumps.has('d')).toBe(true);
  });

  it('holds the bytes it parses against the memory budget until released', async () => {
    const memoryBudget = new MemoryBudget(1 << 20, 7);
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'd', data: fakeBytes(200_000), contentType: 'application/octet-stream' },
      ],
      B,
    );
    const headers = checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length) }, LIMITS.maxPayloadSize);
    const held = memoryBudget.hold();
    await readPayloadHolding(fakeRequest([body]), headers, { ...LIMITS, memoryBudget }, held);
    expect(memoryBudget.inUse).toBe(body.length);
    held.release();
    held.release();
    expect(memoryBudget.inUse).toBe(0);
  });

  it('refuses with 503 and Retry-After the upload that does not fit, while another holds the budget', async () => {
    const memoryBudget = new MemoryBudget(300_000, 7);
    const body = multipartBody(
      [
        { name: 'ProductName', data: 'Test' },
        { name: 'd', data: fakeBytes(200_000), contentType: 'application/octet-stream' },
      ],
      B,
    );
    const gz = gzipSync(body);
    const limits = { ...LIMITS, memoryBudget };
    const first = memoryBudget.hold();
    // The fake request hands over `body` itself, which the test sends again below: never freed by hand.
    first.buffers.lend();
    await readPayloadHolding(
      fakeRequest([body]),
      checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length) }, 1e9),
      limits,
      first,
    );
    for (const [b, compressed] of [
      [body, false],
      [gz, true],
    ] as const) {
      const second = memoryBudget.hold();
      const headers = checkSubmitHeaders(
        { 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(b.length), ...(compressed ? { 'content-encoding': 'gzip' } : {}) },
        1e9,
      );
      const err = await readPayloadHolding(fakeRequest([b.subarray(0, 1000), b.subarray(1000)]), headers, limits, second).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Rejection);
      expect([(err as Rejection).status, (err as Rejection).retryAfterSeconds]).toEqual([503, 7]);
      expect((err as Rejection).body).toMatch(/BREAKPAD_WORKER_MEMORY_BUDGET.*retry after 7 seconds/);
      second.release();
    }
    first.release();
    expect(memoryBudget.inUse).toBe(0);
    // With the budget free again, the same upload fits.
    await read(body, { limits: { memoryBudget } });
    expect(memoryBudget.inUse).toBe(0);
  });

  it('times out a body trickled below the minimum rate, though bytes keep coming', async () => {
    const body = multipartBody([{ name: 'A', data: 'x'.repeat(200) }], B);
    const headers = checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length) }, LIMITS.maxPayloadSize);
    const bytes = Array.from(body.subarray(0, 30), (b) => Buffer.from([b]));
    const p = readPayload(fakeRequest(bytes, { delayMs: 20, hang: true }), headers, {
      ...LIMITS,
      bodyTimeoutMs: 5000,
      minBodyRate: 1000,
      minBodyRateWindowMs: 200,
    });
    expect(await rejected(p)).toBe('408 Discarded=timeout');
  });

  it('times out a trickled body that waits in line after every byte it sends (a busy worker excuses only its own time)', async () => {
    const body = multipartBody([{ name: 'A', data: 'x'.repeat(40) }], B);
    const headers = checkSubmitHeaders({ 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length) }, LIMITS.maxPayloadSize);
    // The whole body, a byte every 10 ms: never idle, and complete in ~1.5 s unless the rate floor stops it first.
    const bytes = Array.from(body, (b) => Buffer.from([b]));
    const p = readPayload(fakeRequest(bytes, { delayMs: 10 }), headers, {
      ...LIMITS,
      // Every byte overspends the budget: it waits in line after each one.
      turnBudget: new TurnBudget(0, setImmediate),
      bodyTimeoutMs: 5000,
      minBodyRate: 1000,
      minBodyRateWindowMs: 200,
    });
    expect(await rejected(p)).toBe('408 Discarded=timeout');
  });

  describe('an upload kept waiting in line by the turn budget, longer than the idle timeout and the rate window', () => {
    const limits = (turnBudget: TurnBudget): Partial<PayloadLimits> => ({
      turnBudget,
      bodyTimeoutMs: 30,
      minBodyRate: 1000,
      minBodyRateWindowMs: 40,
    });
    /** A turn budget whose next turn comes only when the test says. */
    function heldTurns() {
      let queued: Array<() => void> = [];
      return {
        budget: new TurnBudget(1, (fn) => void queued.push(fn)),
        async release(afterMs: number) {
          await new Promise((r) => setTimeout(r, afterMs));
          // Run turns until nothing is left to run (each on its own tick, as setImmediate would).
          while (queued.length > 0) {
            const run = queued;
            queued = [];
            for (const fn of run) fn();
            await new Promise((r) => setImmediate(r));
          }
        },
      };
    }

    for (const gzip of [false, true]) {
      it(`is not timed out for it (${gzip ? 'gzip' : 'plain'})`, async () => {
        const dumpBytes = fakeBytes(200_000);
        const plain = multipartBody(
          [
            { name: 'ProductName', data: 'Firefox' },
            { name: 'upload_file_minidump', data: dumpBytes, filename: 'x.dmp' },
          ],
          B,
        );
        const turns = heldTurns();
        const p = read(gzip ? gzipSync(plain) : plain, { gzip, chunks: 4, limits: limits(turns.budget) });
        await turns.release(150);
        const r = await p;
        expect(toBuffer(r.dumps.get('upload_file_minidump')!).equals(dumpBytes)).toBe(true);
      });
    }

    it('is timed out once it is the client that idles', async () => {
      const plain = multipartBody([{ name: 'ProductName', data: 'Firefox' }], B);
      const headers = checkSubmitHeaders(
        { 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(plain.length) },
        LIMITS.maxPayloadSize,
      );
      const turns = heldTurns();
      const p = readPayload(fakeRequest([plain.subarray(0, 10)], { hang: true }), headers, { ...LIMITS, ...limits(turns.budget) });
      const outcome = rejected(p);
      await turns.release(150);
      expect(await outcome).toBe('408 Discarded=timeout');
    });
  });
});

function fakeBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7919) & 0xff;
  return b;
}
