/**
 * The fake GCS JSON API server itself, driven by the real @google-cloud/storage
 * client: the protocol pieces other tests rely on (multipart and resumable
 * uploads, metadata, media downloads with checksum validation, listing with
 * paging, delete, buckets) and the fault injection.
 */
// The client's HTTP layers import node-fetch (ESM) dynamically, which Jest's vm
// cannot: load them with Node's own loader (see fake-gcs/index.ts).
jest.mock('teeny-request', () => jest.requireActual<typeof import('./fake-gcs')>('./fake-gcs').loadOutsideJest('teeny-request'));
jest.mock('gaxios', () => jest.requireActual<typeof import('./fake-gcs')>('./fake-gcs').loadOutsideJest('gaxios'));

import http from 'node:http';
import { CRC32C, Storage, type Bucket } from '@google-cloud/storage';
import { fakeDump } from './crashes';
import { crc32cBase64, match, startFakeGcs, type FakeGcs } from './fake-gcs';

process.env.METADATA_SERVER_DETECTION = 'none';

const BUCKET = 'fake-bucket';

let gcs: FakeGcs;
let bucket: Bucket;
const savedEmulatorHost = process.env.STORAGE_EMULATOR_HOST;

beforeEach(async () => {
  delete process.env.STORAGE_EMULATOR_HOST;
  gcs = await startFakeGcs({ buckets: [BUCKET] });
  bucket = new Storage({ apiEndpoint: gcs.url, projectId: 'test', retryOptions: { autoRetry: false } }).bucket(BUCKET);
});

afterEach(async () => {
  await gcs.stop();
  if (savedEmulatorHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedEmulatorHost;
});

/** A raw HTTP request to the fake, for what the client cannot be made to send. */
function rawRequest(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gcs.url}${path}`, { method, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('checksums', () => {
  test('CRC32C matches the known vectors and the client library', () => {
    expect(crc32cBase64(Buffer.from('data'))).toBe('rth90Q==');
    expect(crc32cBase64(Buffer.from('some text\n'))).toBe('DkjKuA==');
    expect(crc32cBase64(Buffer.alloc(0))).toBe('AAAAAA==');
    const random = fakeDump(100_003, 3);
    const lib = new CRC32C();
    lib.update(random);
    expect(crc32cBase64(random)).toBe(lib.toString());
  });
});

describe('objects', () => {
  test('multipart upload, metadata, media download with validation, exists, delete', async () => {
    const data = fakeDump(1024 * 1024, 5);
    const file = bucket.file('dir/obj.bin');
    await file.save(data, { resumable: false, contentType: 'application/x-test' });
    expect(gcs.getObject(BUCKET, 'dir/obj.bin').equals(data)).toBe(true);
    expect(gcs.requests.at(-1)).toMatchObject({ method: 'POST', op: 'upload', object: 'dir/obj.bin', status: 200 });

    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ name: 'dir/obj.bin', bucket: BUCKET, size: String(data.length), contentType: 'application/x-test' });
    expect(meta.crc32c).toBe(crc32cBase64(data));
    expect(meta.md5Hash).toBeTruthy();

    const [crcChecked] = await file.download({ validation: 'crc32c' });
    expect(crcChecked.equals(data)).toBe(true);
    const [md5Checked] = await file.download({ validation: 'md5' });
    expect(md5Checked.equals(data)).toBe(true);
    const [part] = await file.download({ start: 10, end: 19 });
    expect(part.equals(data.subarray(10, 20))).toBe(true);

    expect((await file.exists())[0]).toBe(true);
    expect((await bucket.file('dir/none').exists())[0]).toBe(false);
    await file.delete();
    expect((await file.exists())[0]).toBe(false);
    expect(gcs.object(BUCKET, 'dir/obj.bin')).toBeUndefined();
  });

  test('the client notices a download whose bytes do not match the hashes', async () => {
    await bucket.file('x').save(Buffer.from('some bytes to corrupt'), { resumable: false });
    gcs.corruptNextDownloads(1);
    await expect(bucket.file('x').download({ validation: 'crc32c' })).rejects.toMatchObject({ code: 'CONTENT_DOWNLOAD_MISMATCH' });
    const [ok] = await bucket.file('x').download({ validation: 'crc32c' });
    expect(ok.toString()).toBe('some bytes to corrupt');
  });

  test('resumable upload in one request and in 256 KiB chunks', async () => {
    const one = fakeDump(300_000, 8);
    await bucket.file('r/one').save(one, { resumable: true });
    expect(gcs.getObject(BUCKET, 'r/one').equals(one)).toBe(true);
    expect(gcs.requestsFor(BUCKET, 'r/one').map((r) => `${r.method} ${r.op} ${r.status}`)).toEqual(['POST upload.start 200', 'PUT upload.data 200']);

    const chunked = fakeDump(600_000, 9);
    await bucket.file('r/chunked').save(chunked, { resumable: true, chunkSize: 256 * 1024 });
    expect(gcs.getObject(BUCKET, 'r/chunked').equals(chunked)).toBe(true);
    const statuses = gcs.requestsFor(BUCKET, 'r/chunked').map((r) => `${r.op} ${r.status}`);
    expect(statuses[0]).toBe('upload.start 200');
    expect(statuses.filter((s) => s === 'upload.data 308').length).toBeGreaterThanOrEqual(2);
    expect(statuses.at(-1)).toBe('upload.data 200');

    const [back] = await bucket.file('r/chunked').download({ validation: 'crc32c' });
    expect(back.equals(chunked)).toBe(true);
  });

  test('an upload whose declared checksum does not match is refused (400)', async () => {
    const boundary = 'b0undary';
    const body = Buffer.from(
      `--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ name: 'bad', crc32c: 'AAAAAA==' })}\r\n` +
        `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\nnot empty\r\n--${boundary}--`,
    );
    const res = await rawRequest(
      'POST',
      `/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`,
      { 'content-type': `multipart/related; boundary=${boundary}` },
      body,
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain('CRC32C');
    expect(gcs.object(BUCKET, 'bad')).toBeUndefined();
  });

  test('paths without /storage/v1 (STORAGE_EMULATOR_HOST set for the client) work', async () => {
    process.env.STORAGE_EMULATOR_HOST = gcs.url;
    const b = new Storage({ projectId: 'test', retryOptions: { autoRetry: false } }).bucket(BUCKET);
    await b.file('e/1').save(Buffer.from('one'), { resumable: false });
    expect((await b.file('e/1').exists())[0]).toBe(true);
    const [files] = await b.getFiles({ prefix: 'e/' });
    expect(files.map((f) => f.name)).toEqual(['e/1']);
    expect(gcs.requests.filter((r) => r.op === 'get' || r.op === 'list').every((r) => r.url.startsWith('/b/'))).toBe(true);
  });
});

describe('listing', () => {
  test('by prefix, with maxResults pages and nextPageToken', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
    for (const n of names) gcs.putObject(BUCKET, n, Buffer.from(n));
    gcs.putObject(BUCKET, 'other/1', Buffer.from('x'));
    gcs.putObject(BUCKET, 'q', Buffer.from('y'));

    const [page1, next1] = await bucket.getFiles({ prefix: 'p/', maxResults: 3, autoPaginate: false });
    expect(page1.map((f) => f.name)).toEqual(names.slice(0, 3));
    expect(next1).toMatchObject({ prefix: 'p/', pageToken: expect.any(String) });
    const [page2, next2] = await bucket.getFiles({ ...next1, autoPaginate: false });
    expect(page2.map((f) => f.name)).toEqual(names.slice(3, 6));
    const [page3, next3] = await bucket.getFiles({ ...next2, autoPaginate: false });
    expect(page3.map((f) => f.name)).toEqual(names.slice(6));
    expect(next3).toBeFalsy();
    expect(gcs.requests.filter((r) => r.op === 'list')).toHaveLength(3);

    // With auto-pagination the client's maxResults caps the total.
    expect((await bucket.getFiles({ prefix: 'p/', maxResults: 4 }))[0].map((f) => f.name)).toEqual(names.slice(0, 4));
    expect((await bucket.getFiles())[0].map((f) => f.name)).toEqual([...names, 'other/1', 'q'].sort());
    expect((await bucket.getFiles({ prefix: 'nothing/' }))[0]).toEqual([]);
  });

  test('auto-pagination follows nextPageToken when the server pages on its own (maxPageSize)', async () => {
    const small = await startFakeGcs({ buckets: [BUCKET], maxPageSize: 2 });
    try {
      const b = new Storage({ apiEndpoint: small.url, projectId: 'test', retryOptions: { autoRetry: false } }).bucket(BUCKET);
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const n of names) small.putObject(BUCKET, n, Buffer.from(n));
      const [all] = await b.getFiles();
      expect(all.map((f) => f.name)).toEqual(names);
      expect(small.requests.filter((r) => r.op === 'list').map((r) => new URL(r.url, small.url).searchParams.has('pageToken'))).toEqual([false, true, true]);
    } finally {
      await small.stop();
    }
  });

  test('with a delimiter, "directories" come back as prefixes', async () => {
    for (const n of ['v1/dump/a', 'v1/dump/b', 'v1/raw_crash/20240101/a', 'v1/top']) gcs.putObject(BUCKET, n, Buffer.from(n));
    const [files, , response] = await bucket.getFiles({ prefix: 'v1/', delimiter: '/', autoPaginate: false });
    expect(files.map((f) => f.name)).toEqual(['v1/top']);
    expect((response as { prefixes?: string[] }).prefixes).toEqual(['v1/dump/', 'v1/raw_crash/']);
  });
});

describe('buckets', () => {
  test('get, create, missing bucket errors', async () => {
    expect((await bucket.exists())[0]).toBe(true);
    const client = bucket.storage;
    expect((await client.bucket('later').exists())[0]).toBe(false);
    gcs.createBucket('later');
    expect((await client.bucket('later').exists())[0]).toBe(true);
    await client.createBucket('made-by-client');
    expect((await client.bucket('made-by-client').exists())[0]).toBe(true);

    const missing = client.bucket('missing');
    await expect(missing.file('k').save(Buffer.from('x'), { resumable: false })).rejects.toMatchObject({ code: 404 });
    await expect(missing.file('k').getMetadata()).rejects.toMatchObject({ code: 404, message: expect.stringContaining('bucket does not exist') });
    await expect(missing.getFiles()).rejects.toMatchObject({ code: 404 });
    expect(() => gcs.objects('missing')).toThrow();
  });
});

describe('faults', () => {
  test('failNext fails only the next n matching requests, with the given status', async () => {
    gcs.failNext(1, { status: 429, match: match.object('a') });
    await bucket.file('b').save(Buffer.from('b'), { resumable: false });
    await expect(bucket.file('a').save(Buffer.from('a'), { resumable: false })).rejects.toMatchObject({ code: 429 });
    await bucket.file('a').save(Buffer.from('a'), { resumable: false });
    expect(gcs.keys(BUCKET)).toEqual(['a', 'b']);
    expect(gcs.requestsFor(BUCKET, 'a').map((r) => r.status)).toEqual([429, 200]);

    gcs.failNext(2);
    await expect(bucket.file('a').getMetadata()).rejects.toMatchObject({ code: 503 });
    await expect(bucket.getFiles()).rejects.toMatchObject({ code: 503 });
    expect((await bucket.file('a').exists())[0]).toBe(true);
  });

  test('dropNextConnections destroys the socket without an answer', async () => {
    gcs.dropNextConnections(1, match.op('get'));
    await bucket.file('x').save(Buffer.from('x'), { resumable: false });
    // (Errors from the HTTP layer come from Node's realm, not Jest's: match their fields, not `toThrow`.)
    await expect(bucket.file('x').getMetadata()).rejects.toMatchObject({ message: expect.stringMatching(/socket hang up|ECONNRESET|other side closed/i) });
    expect(gcs.requests.at(-1)).toMatchObject({ op: 'get', status: 'dropped' });
    expect((await bucket.file('x').exists())[0]).toBe(true);
  });

  test('setLatency delays matching requests; setDown answers 503 to everything; clearFaults resets', async () => {
    gcs.setLatency(300, match.op('get'));
    await bucket.file('x').save(Buffer.from('x'), { resumable: false });
    const start = Date.now();
    await bucket.file('x').getMetadata();
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);

    gcs.setDown(true);
    await expect(bucket.file('x').download()).rejects.toMatchObject({ code: 503 });
    gcs.clearFaults();
    expect((await bucket.file('x').download())[0].toString()).toBe('x');
  });
});
