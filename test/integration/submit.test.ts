import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { crashBody, crashFiles, crashIdFrom, crashParts, fakeDump, multipartBody, rawCrashKey, readStored, storedFiles } from '../support/crashes';
import { post } from '../support/http';
import { startServer, type RunningServer } from '../support/server';
import { sleep } from '../support/wait';

const TOKEN = 'stage-token-123';
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN: TOKEN, BREAKPAD_BODY_TIMEOUT_SECONDS: '2' });
});
afterAll(async () => {
  await server?.stop();
});

const submit = (body: Buffer, headers: Record<string, string | number>) =>
  post(`${server.url}/submit`, { headers: { 'Content-Length': body.length, ...headers }, body });

describe('POST /submit: accepted crashes', () => {
  it('stores raw crash, dump_names and dump byte for byte, and answers CrashID', async () => {
    const dump = fakeDump(100_000);
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: '1.0', Email: 'a@b.c' }, { upload_file_minidump: dump }));
    const before = new Date();
    const res = await submit(body, { 'Content-Type': contentType, 'User-Agent': 'Crashpad/2.0' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const id = crashIdFrom(res.text);
    expect(id.slice(-7, -6)).toBe('0');
    const yymmdd = before.toISOString().slice(2, 10).replace(/-/g, '');
    expect(id.slice(-6)).toBe(yymmdd);

    expect(crashFiles(server.fsRoot).filter((f) => f.includes(id))).toEqual([rawCrashKey(id), `v1/dump/${id}`, `v1/dump_names/${id}`].sort());
    expect(readStored(server.fsRoot, `v1/dump/${id}`).equals(dump)).toBe(true);
    expect(readStored(server.fsRoot, `v1/dump_names/${id}`).toString()).toBe('["upload_file_minidump"]');
    const rawText = readStored(server.fsRoot, rawCrashKey(id)).toString();
    const raw = JSON.parse(rawText);
    expect(Object.keys(raw)).toEqual([...Object.keys(raw)].sort());
    expect(raw).toEqual({
      ProductName: 'Test',
      Version: '1.0',
      uuid: id,
      version: 2,
      submitted_timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/),
      metadata: {
        payload: 'multipart',
        payload_compressed: '0',
        payload_size: body.length,
        collector_notes: ['Removed Email from raw crash.'],
        dump_checksums: { upload_file_minidump: createHash('sha256').update(dump).digest('hex') },
        user_agent: 'Crashpad/2.0',
        throttle_rule: 'accept_everything',
      },
    });
    expect(storedFiles(server.fsRoot).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('accepts gzip, chunked bodies, two dumps and a JSON extra', async () => {
    const dumps = { upload_file_minidump: fakeDump(5000, 2), memory_report: fakeDump(3000, 3) };
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: '2' }, dumps, true));
    const gz = gzipSync(body);
    const chunks = Array.from({ length: Math.ceil(gz.length / 1000) }, (_, i) => gz.subarray(i * 1000, (i + 1) * 1000));
    const res = await post(`${server.url}/submit`, {
      headers: { 'Content-Type': contentType, 'Content-Encoding': 'gzip', 'Transfer-Encoding': 'chunked' },
      body: chunks,
    });
    expect(res.status).toBe(200);
    const id = crashIdFrom(res.text);
    expect(readStored(server.fsRoot, `v1/dump/${id}`).equals(dumps.upload_file_minidump)).toBe(true);
    expect(readStored(server.fsRoot, `v1/memory_report/${id}`).equals(dumps.memory_report)).toBe(true);
    expect(readStored(server.fsRoot, `v1/dump_names/${id}`).toString()).toBe('["memory_report","upload_file_minidump"]');
    const raw = JSON.parse(readStored(server.fsRoot, rawCrashKey(id)).toString());
    expect(raw.metadata.payload).toBe('json');
    expect(raw.metadata.payload_compressed).toBe('1');
    expect(raw.metadata.payload_size).toBe(gz.length);
  });

  it('accepts multipart/mixed', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, {}), 'multipart/mixed');
    const res = await submit(body, { 'Content-Type': contentType });
    expect(res.status).toBe(200);
    crashIdFrom(res.text);
  });

  it('accepts a body of exactly 25 MiB and refuses 25 MiB + 1 with 413', async () => {
    const LIMIT = 26214400;
    const { body: small } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: Buffer.alloc(0) }));
    const dumpSize = LIMIT - small.length;
    const exact = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(dumpSize, 9) }));
    // Boundaries are random but of fixed length, so the size is exact.
    expect(exact.body.length).toBe(LIMIT);
    const ok = await submit(exact.body, { 'Content-Type': exact.contentType });
    expect(ok.status).toBe(200);
    const id = crashIdFrom(ok.text);
    expect(readStored(server.fsRoot, `v1/dump/${id}`).length).toBe(dumpSize);

    const over = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(dumpSize + 1, 9) }));
    expect(over.body.length).toBe(LIMIT + 1);
    const files = crashFiles(server.fsRoot).length;
    const refused = await submit(over.body, { 'Content-Type': over.contentType });
    expect([refused.status, refused.text]).toEqual([413, 'Discarded=too_large']);
    // Chunked: the limit is found by counting.
    const chunks = Array.from({ length: 26 }, (_, i) => over.body.subarray(i * 1048576, (i + 1) * 1048576));
    const counted = await post(`${server.url}/submit`, { headers: { 'Content-Type': over.contentType }, body: chunks });
    expect([counted.status, counted.text]).toEqual([413, 'Discarded=too_large']);
    expect(crashFiles(server.fsRoot).length).toBe(files);
  });
});

describe('POST /submit: every rejection of SPEC §1.1', () => {
  const good = () => crashBody(crashParts({ ProductName: 'Test' }, {}));

  async function expectRejected(res: Promise<{ status: number; text: string; headers: Record<string, unknown> }>, status: number, text: string) {
    const files = crashFiles(server.fsRoot).length;
    const r = await res;
    expect([r.status, r.text]).toEqual([status, text]);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(crashFiles(server.fsRoot).length).toBe(files);
  }

  it('no content type', async () => {
    const { body } = good();
    await expectRejected(submit(body, {}), 400, 'Discarded=malformed_no_content_type');
  });
  it('wrong content type', async () => {
    await expectRejected(submit(Buffer.from('{}'), { 'Content-Type': 'application/json' }), 400, 'Discarded=malformed_wrong_content_type');
  });
  it('no boundary', async () => {
    const { body } = good();
    await expectRejected(submit(body, { 'Content-Type': 'multipart/form-data' }), 400, 'Discarded=malformed_no_boundary');
  });
  it('a boundary longer than 252 characters counts as none', async () => {
    const boundary = 'b'.repeat(300);
    const body = multipartBody(crashParts({ ProductName: 'Test' }, {}), boundary);
    await expectRejected(submit(body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` }), 400, 'Discarded=malformed_no_boundary');
  });
  it('Content-Length 0', async () => {
    const { contentType } = good();
    await expectRejected(submit(Buffer.alloc(0), { 'Content-Type': contentType }), 400, 'Discarded=malformed_no_content_length');
  });
  it('a chunked body with no bytes', async () => {
    const { contentType } = good();
    await expectRejected(post(`${server.url}/submit`, { headers: { 'Content-Type': contentType }, body: [] }), 400, 'Discarded=malformed_no_content_length');
  });
  it('Content-Length over the limit is refused before the body is read', async () => {
    const { contentType } = good();
    await expectRejected(
      post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': 26214401, Expect: '100-continue' }, body: [], hang: true }),
      413,
      'Discarded=too_large',
    );
  });
  it('bad gzip', async () => {
    const { body, contentType } = good();
    await expectRejected(submit(body, { 'Content-Type': contentType, 'Content-Encoding': 'gzip' }), 400, 'Discarded=malformed_bad_gzip');
  });
  it('gzip bomb', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: Buffer.alloc(110 * 1024 * 1024) }));
    const gz = gzipSync(body);
    expect(gz.length).toBeLessThan(1024 * 1024);
    await expectRejected(submit(gz, { 'Content-Type': contentType, 'Content-Encoding': 'gzip' }), 413, 'Discarded=too_large');
  });
  it('broken multipart structure: wrong boundary, truncated, junk, short Content-Length', async () => {
    const { body, contentType } = good();
    await expectRejected(submit(body, { 'Content-Type': 'multipart/form-data; boundary=nope' }), 400, 'Discarded=malformed_invalid_payload_structure');
    await expectRejected(submit(body.subarray(0, body.length - 20), { 'Content-Type': contentType }), 400, 'Discarded=malformed_invalid_payload_structure');
    await expectRejected(submit(Buffer.from('junk junk junk'), { 'Content-Type': contentType }), 400, 'Discarded=malformed_invalid_payload_structure');
    await expectRejected(
      post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length - 30 }, body }),
      400,
      'Discarded=malformed_invalid_payload_structure',
    );
  });
  it('invalid JSON and a JSON value that is not an object', async () => {
    let c = crashBody([{ name: 'extra', data: '{"ProductName":', contentType: 'application/json' }]);
    await expectRejected(submit(c.body, { 'Content-Type': c.contentType }), 400, 'Discarded=malformed_invalid_json');
    c = crashBody([{ name: 'extra', data: '"Firefox"', contentType: 'application/json' }]);
    await expectRejected(submit(c.body, { 'Content-Type': c.contentType }), 400, 'Discarded=malformed_invalid_json_value');
  });
  it('reserved or empty dump names', async () => {
    for (const name of ['raw_crash', 'dump_names', 'processed_crash', '***']) {
      const c = crashBody(crashParts({ ProductName: 'Test' }, { [name]: fakeDump(100) }));
      await expectRejected(submit(c.body, { 'Content-Type': c.contentType }), 400, 'Discarded=malformed_invalid_dump_name');
    }
  });
  it('no annotations', async () => {
    const c = crashBody(crashParts({}, { upload_file_minidump: fakeDump(100) }));
    await expectRejected(submit(c.body, { 'Content-Type': c.contentType }), 400, 'Discarded=malformed_no_annotations');
  });
  it('a client that stops sending gets 408', async () => {
    const { body, contentType } = good();
    await expectRejected(
      post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body: [body.subarray(0, 50)], hang: true }),
      408,
      'Discarded=timeout',
    );
  });
  it('a hostile body never kills a worker: the server still answers', async () => {
    const { body, contentType } = good();
    const res = await submit(body, { 'Content-Type': contentType });
    expect(res.status).toBe(200);
    expect(server.logs.filter((l) => /died unexpectedly/.test(l.Fields?.message ?? ''))).toEqual([]);
  });
});

describe('POST /submit: the stage submitter uuid', () => {
  const withUuid = (uuid: string) => crashBody(crashParts({ ProductName: 'Test', uuid }, {}));
  const ID = 'de1bb258-cbbf-4589-a673-34f800160918';

  it('refuses a uuid without the bearer token (401), or with a wrong one', async () => {
    const c = withUuid(ID);
    let r = await submit(c.body, { 'Content-Type': c.contentType });
    expect([r.status, r.text]).toEqual([401, 'Discarded=unauthorized_uuid']);
    r = await submit(c.body, { 'Content-Type': c.contentType, Authorization: 'Bearer wrong' });
    expect([r.status, r.text]).toEqual([401, 'Discarded=unauthorized_uuid']);
  });

  it('refuses an invalid uuid from an authorized submitter (400)', async () => {
    const c = withUuid('not-a-crash-id');
    const r = await submit(c.body, { 'Content-Type': c.contentType, Authorization: `Bearer ${TOKEN}` });
    expect([r.status, r.text]).toEqual([400, 'Discarded=malformed_invalid_uuid']);
  });

  it('keeps a valid uuid from an authorized submitter', async () => {
    const c = withUuid(ID);
    const r = await submit(c.body, { 'Content-Type': c.contentType, Authorization: `Bearer ${TOKEN}` });
    expect([r.status, r.text]).toEqual([200, `CrashID=bp-${ID}\n`]);
    expect(JSON.parse(readStored(server.fsRoot, rawCrashKey(ID)).toString()).uuid).toBe(ID);
    expect(server.logs.map((l) => l.raw).join('\n')).not.toContain(TOKEN);
  });
});

describe('POST /submit: a refused body that keeps coming', () => {
  it('is read and discarded for BREAKPAD_REJECT_LINGER_SECONDS after the 413, then the connection is cut', async () => {
    const lingering = await startServer({ WORKERS: '1', BREAKPAD_REJECT_LINGER_SECONDS: '4' });
    const socket = net.connect(lingering.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      const { contentType } = crashBody(crashParts({ ProductName: 'Test' }, {}));
      socket.write(`POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: 26214401\r\n\r\n`);
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString()));
      // The cut arrives as a reset when our last chunks are still unread in the
      // server's socket (seen under CI's load): that is the cut too, not a failure.
      let cutBy: string | undefined;
      socket.on('error', (err: NodeJS.ErrnoException) => (cutBy = err.code));
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
      const sender = setInterval(() => socket.writable && socket.write(Buffer.alloc(16384)), 50);
      const started = Date.now();
      try {
        await sleep(2500); // past the 2 s default: still open, still reading
        expect(answer).toMatch(/^HTTP\/1\.1 413 [^]*\r\n\r\nDiscarded=too_large$/);
        expect(socket.destroyed).toBe(false);
        const at = await Promise.race([closed, sleep(15000).then(() => undefined)]);
        expect(at).toBeDefined();
        expect(at! - started).toBeGreaterThanOrEqual(3500);
        expect([undefined, 'ECONNRESET', 'EPIPE']).toContain(cutBy);
      } finally {
        clearInterval(sender);
      }
    } finally {
      socket.destroy();
      await lingering.stop();
    }
  });
});
