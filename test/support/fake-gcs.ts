/**
 * An in-process Google Cloud Storage JSON API server for tests (node:http on
 * 127.0.0.1, a free port). It speaks enough of the real protocol for
 * @google-cloud/storage to run unmodified against it — multipart and resumable
 * uploads, object metadata, `alt=media` downloads with `x-goog-hash`, listing
 * with paging, delete, bucket get/insert — and injects faults on demand.
 *
 * Paths are accepted with and without the `/storage/v1` prefix: the client
 * drops it when the STORAGE_EMULATOR_HOST environment variable is set.
 *
 * Jest caveat: the client's HTTP layers (teeny-request, and gaxios 7 for
 * resumable uploads) `import('node-fetch')`, an ES module, which Jest's vm
 * cannot do without --experimental-vm-modules ("A dynamic import callback was
 * invoked without --experimental-vm-modules", surfacing as "Cannot call write
 * after a stream was destroyed"). A test file that drives the real client
 * therefore loads those two modules with Node's own loader — the client
 * itself stays real and unmocked:
 *
 *   jest.mock('teeny-request', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('teeny-request'));
 *   jest.mock('gaxios', () => jest.requireActual<typeof import('../../support/fake-gcs')>('../../support/fake-gcs').loadOutsideJest('gaxios'));
 *
 * (adjust the relative path), and sets process.env.METADATA_SERVER_DETECTION
 * to 'none' so that nothing ever probes the GCE metadata server.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import nodeModule from 'node:module';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Loads a package with Node's own CommonJS loader instead of Jest's, so that
 * its dynamic `import()` of ES modules works (see the Jest caveat above).
 * Jest's `node:module` keeps Node's static `_load`; an absolute path makes the
 * parent irrelevant.
 */
export function loadOutsideJest(id: string): unknown {
  const load = (nodeModule as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown })._load;
  return load(require.resolve(id), null, false);
}

export interface FakeGcsOptions {
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Most objects one list page holds, whatever `maxResults` asks (GCS caps at 1000), to exercise paging. */
  maxPageSize?: number;
}

export interface StoredGcsObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  generation: string;
  created: string;
  crc32c: string;
  md5Hash: string;
}

export interface FakeGcsRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** What the fake understood: `upload`, `get`, `media`, `list`, `delete`, `bucket.get`, … or `unknown`. */
  op: string;
  bucket?: string;
  object?: string;
  /** Status answered, or `dropped` when the connection was destroyed. */
  status?: number | 'dropped';
  /** Body bytes received (0 for a dropped request, whose body is not read). */
  bytes?: number;
  /** How many object writes had completed when the request arrived (for ordering checks). */
  writesBefore: number;
  /** The Authorization header, if the client sent one. */
  authorization?: string;
}

/** Selects the requests a fault applies to; it sees what the fake understood (op, bucket, object). */
export type RequestMatcher = (req: FakeGcsRequest) => boolean;

export interface FailOptions {
  /** Status to answer with, as a JSON API error; default 503. */
  status?: number;
  /** Only matching requests fail (and count towards `n`); default every request. */
  match?: RequestMatcher;
}

export interface FakeGcs {
  /** `http://127.0.0.1:PORT` — pass as `apiEndpoint` or STORAGE_EMULATOR_HOST. */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** An object's bytes, or undefined. */
  object(bucket: string, key: string): Buffer | undefined;
  /** An object's bytes; throws when there is no such object. */
  getObject(bucket: string, key: string): Buffer;
  /** A bucket's objects, sorted by key; throws when there is no such bucket. */
  objects(bucket: string): Array<{ key: string; data: Buffer; contentType: string }>;
  /** Object names in a bucket, sorted, optionally under a prefix. */
  keys(bucket: string, prefix?: string): string[];
  /** Completed object writes in the order they were stored. */
  writes: Array<{ bucket: string; key: string }>;
  /** Every request received, in order of arrival. */
  requests: FakeGcsRequest[];
  /** Requests that concern one object (uploads, metadata, media, delete), in order. */
  requestsFor(bucket: string, key: string): FakeGcsRequest[];
  /**
   * Answers the next `n` (matching) requests with an error status, after
   * reading their bodies, without acting on them. `status` alone is a shorthand
   * for `{ status }`.
   */
  failNext(n: number, opts?: number | FailOptions): void;
  /** Waits `ms` before answering each (matching) request, after reading its body; 0 turns it off. */
  setLatency(ms: number, match?: RequestMatcher): void;
  /** Destroys the socket of the next `n` (matching) requests without reading or answering them. */
  dropNextConnections(n: number, match?: RequestMatcher): void;
  /**
   * Keeps (matching) requests open, body read but unanswered (not stored, no
   * fault applied yet), until the returned function is called; stop() lets
   * them go too. Lets a test look at what the client sends meanwhile.
   */
  hold(match?: RequestMatcher): () => void;
  /** Flips a byte in the body of the next `n` media downloads, keeping the stored hashes: checksum validation must catch it. */
  corruptNextDownloads(n: number): void;
  /** While down, every request gets 503. */
  setDown(down: boolean): void;
  /** Cancels every pending fault (failures, drops, latency, corruption, down). */
  clearFaults(): void;
  createBucket(name: string): void;
  /** Same as createBucket. */
  addBucket(name: string): void;
  removeBucket(name: string): void;
  putObject(bucket: string, key: string, data: Buffer, contentType?: string): void;
  stop(): Promise<void>;
}

/** Matchers for the usual fault targets. */
export const match = {
  /** Any request about this object (upload, metadata, media, delete). */
  object:
    (key: string): RequestMatcher =>
    (r) =>
      r.object === key,
  /** Uploads (multipart, media, resumable start and data), optionally of one object. */
  upload:
    (key?: string): RequestMatcher =>
    (r) =>
      r.op.startsWith('upload') && (key === undefined || r.object === key),
  op:
    (op: string): RequestMatcher =>
    (r) =>
      r.op === op,
};

// --- checksums: CRC32C (Castagnoli), as GCS reports it (big-endian, base64) ---

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function crc32cBase64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(data));
  return b.toString('base64');
}

const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');

// --- small HTTP helpers ---

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new HttpError(404, message, 'notFound');
const badRequest = (message: string) => new HttpError(400, message, 'invalid');

function errorBody(status: number, message: string, reason: string): string {
  return JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Splits a `multipart/related` body into its parts (headers lower-cased). */
function parseMultipart(body: Buffer, boundary: string): Array<{ headers: Record<string, string>; data: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw badRequest('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw badRequest('multipart body is truncated');
    let part = body.subarray(pos, next);
    if (part.subarray(0, 2).toString() === '\r\n') part = part.subarray(2);
    if (part.subarray(part.length - 2).toString() === '\r\n') part = part.subarray(0, part.length - 2);
    const split = part.indexOf('\r\n\r\n');
    const headerText = split < 0 ? '' : part.subarray(0, split).toString();
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: split < 0 ? part : part.subarray(split + 4) });
    pos = next;
  }
  return parts;
}

/** `crc32c=…,md5=…` → { crc32c, md5 } */
function parseGoogHash(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string>;
  received: Buffer;
  done?: StoredGcsObject;
}

export async function startFakeGcs(opts: FakeGcsOptions = {}): Promise<FakeGcs> {
  const buckets = new Map<string, Map<string, StoredGcsObject>>();
  const sessions = new Map<string, ResumableSession>();
  const writes: Array<{ bucket: string; key: string }> = [];
  const requests: FakeGcsRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let generation = Date.now() * 1000;
  let failures: { n: number; status: number; match?: RequestMatcher } = { n: 0, status: 503 };
  let latency: { ms: number; match?: RequestMatcher } = { ms: 0 };
  let drops: { n: number; match?: RequestMatcher } = { n: 0 };
  let corruptions = 0;
  let down = false;
  const holds: Array<{ match?: RequestMatcher; released: Promise<void>; release: () => void }> = [];
  let stopped = false;
  let baseUrl = '';

  const addBucket = (name: string) => {
    if (!buckets.has(name)) buckets.set(name, new Map());
  };
  for (const b of opts.buckets ?? []) addBucket(b);

  function bucketOf(name: string): Map<string, StoredGcsObject> {
    const b = buckets.get(name);
    if (!b) throw notFound('The specified bucket does not exist.');
    return b;
  }

  function store(bucket: string, name: string, data: Buffer, contentType: string, metadata: Record<string, string>): StoredGcsObject {
    if (!name) throw badRequest('Required object name is missing.');
    const obj: StoredGcsObject = {
      bucket,
      name,
      data,
      contentType: contentType || 'application/octet-stream',
      metadata,
      generation: String(++generation),
      created: new Date().toISOString(),
      crc32c: crc32cBase64(data),
      md5Hash: md5Base64(data),
    };
    bucketOf(bucket).set(name, obj);
    writes.push({ bucket, key: name });
    return obj;
  }

  /** Rejects an upload whose client-computed hashes do not match the bytes, as GCS does. */
  function checkHashes(data: Buffer, expected: { crc32c?: string; md5?: string }): void {
    if (expected.crc32c && expected.crc32c !== crc32cBase64(data)) {
      throw badRequest(`Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${crc32cBase64(data)}".`);
    }
    if (expected.md5 && expected.md5 !== md5Base64(data)) {
      throw badRequest(`Provided MD5 hash "${expected.md5}" doesn't match calculated MD5 hash "${md5Base64(data)}".`);
    }
  }

  function objectResource(o: StoredGcsObject): Record<string, unknown> {
    const path = `b/${o.bucket}/o/${encodeURIComponent(o.name)}`;
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${baseUrl}/storage/v1/${path}`,
      mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: '1',
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: `${o.generation}`,
      timeCreated: o.created,
      updated: o.created,
      ...(Object.keys(o.metadata).length ? { metadata: o.metadata } : {}),
    };
  }

  function bucketResource(name: string): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      id: name,
      selfLink: `${baseUrl}/storage/v1/b/${name}`,
      name,
      projectNumber: '0',
      metageneration: '1',
      location: 'US',
      storageClass: 'STANDARD',
      etag: 'CAE=',
      timeCreated: '2020-01-01T00:00:00.000Z',
      updated: '2020-01-01T00:00:00.000Z',
    };
  }

  interface Reply {
    status: number;
    headers?: Record<string, string>;
    body?: Buffer | string | Record<string, unknown>;
  }

  function list(bucket: string, q: URLSearchParams): Reply {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') ?? '';
    const cap = Math.max(1, Math.min(1000, opts.maxPageSize ?? 1000));
    const maxResults = Math.max(1, Math.min(cap, Number(q.get('maxResults') ?? cap) || cap));
    const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString() : '';
    // Entries are objects, or with a delimiter the "directories" that collapse them.
    const entries: Array<{ key: string; obj?: StoredGcsObject }> = [];
    const seenPrefixes = new Set<string>();
    const names = [...bucketOf(bucket).keys()].sort();
    for (const name of names) {
      if (!name.startsWith(prefix) || name < startOffset) continue;
      const rest = name.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const p = prefix + rest.slice(0, cut + delimiter.length);
        if (!seenPrefixes.has(p)) {
          seenPrefixes.add(p);
          entries.push({ key: p });
        }
      } else {
        entries.push({ key: name, obj: bucketOf(bucket).get(name) });
      }
    }
    const remaining = entries.filter((e) => e.key > after);
    const page = remaining.slice(0, maxResults);
    const body: Record<string, unknown> = { kind: 'storage#objects' };
    const items = page.filter((e) => e.obj).map((e) => objectResource(e.obj!));
    const prefixes = page.filter((e) => !e.obj).map((e) => e.key);
    if (items.length) body.items = items;
    if (prefixes.length) body.prefixes = prefixes;
    if (remaining.length > page.length) body.nextPageToken = Buffer.from(page[page.length - 1]!.key).toString('base64url');
    return { status: 200, body };
  }

  function media(o: StoredGcsObject, range: string | undefined): Reply {
    const reply = mediaReply(o, range);
    if (corruptions > 0 && Buffer.isBuffer(reply.body) && reply.body.length > 0) {
      corruptions--;
      const bad = Buffer.from(reply.body);
      bad[bad.length >> 1] ^= 0xff;
      reply.body = bad;
    }
    return reply;
  }

  function mediaReply(o: StoredGcsObject, range: string | undefined): Reply {
    const headers: Record<string, string> = {
      'content-type': o.contentType,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-generation': o.generation,
      'x-goog-metageneration': '1',
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(o.data.length),
      etag: o.generation,
    };
    const m = range && /^bytes=(\d*)-(\d*)$/.exec(range);
    if (m) {
      const size = o.data.length;
      let start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
      let end = m[1] && m[2] ? Number(m[2]) : size - 1;
      start = Math.min(start, size);
      end = Math.min(end, size - 1);
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
      return { status: 206, headers, body: o.data.subarray(start, end + 1) };
    }
    return { status: 200, headers, body: o.data };
  }

  function startResumable(bucket: string, q: URLSearchParams, req: http.IncomingMessage, body: Buffer): Reply {
    bucketOf(bucket);
    const meta = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
    const name = q.get('name') ?? (meta.name as string | undefined) ?? '';
    if (!name) throw badRequest('Required object name is missing.');
    const id = randomUUID();
    sessions.set(id, {
      bucket,
      name,
      contentType: String(req.headers['x-upload-content-type'] ?? meta.contentType ?? 'application/octet-stream'),
      metadata: (meta.metadata as Record<string, string> | undefined) ?? {},
      received: Buffer.alloc(0),
    });
    const location = `${baseUrl}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    return { status: 200, headers: { location, 'x-guploader-uploadid': id }, body: '' };
  }

  function continueResumable(id: string, req: http.IncomingMessage, body: Buffer): Reply {
    const s = sessions.get(id);
    if (!s) throw notFound('No such upload session.');
    const incomplete = (): Reply => ({
      status: 308,
      headers: s.received.length ? { range: `bytes=0-${s.received.length - 1}` } : {},
      body: '',
    });
    if (s.done) return { status: 200, body: objectResource(s.done) };
    const range = String(req.headers['content-range'] ?? '');
    const query = /^bytes \*\/(\d+|\*)$/.exec(range);
    if (query) return incomplete();
    const m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(range);
    if (!m) throw badRequest(`Invalid Content-Range: "${range}"`);
    const start = Number(m[1]);
    if (start > s.received.length) throw badRequest(`Upload starts at ${start} but only ${s.received.length} bytes were received.`);
    s.received = Buffer.concat([s.received.subarray(0, start), body]);
    const total = m[3] === '*' ? undefined : Number(m[3]);
    // `bytes N-*/…` sends the rest of the object in this one request.
    const finished = total !== undefined ? s.received.length >= total : m[2] === '*';
    if (!finished) return incomplete();
    checkHashes(s.received, parseGoogHash(req.headers['x-goog-hash'] as string | undefined));
    s.done = store(s.bucket, s.name, s.received, s.contentType, s.metadata);
    return { status: 200, body: objectResource(s.done) };
  }

  function multipartUpload(bucket: string, q: URLSearchParams, req: http.IncomingMessage, body: Buffer): Reply {
    bucketOf(bucket);
    const boundary = /boundary="?([^";]+)"?/.exec(String(req.headers['content-type'] ?? ''))?.[1];
    if (!boundary) throw badRequest('multipart upload without a boundary');
    const parts = parseMultipart(body, boundary);
    if (parts.length !== 2) throw badRequest(`multipart upload needs 2 parts, got ${parts.length}`);
    const meta = JSON.parse(parts[0]!.data.toString() || '{}') as Record<string, unknown>;
    const data = parts[1]!.data;
    checkHashes(data, { crc32c: meta.crc32c as string | undefined, md5: meta.md5Hash as string | undefined });
    const name = q.get('name') ?? (meta.name as string | undefined) ?? '';
    const contentType = (meta.contentType as string | undefined) ?? parts[1]!.headers['content-type'] ?? 'application/octet-stream';
    const obj = store(bucket, name, data, contentType, (meta.metadata as Record<string, string> | undefined) ?? {});
    return { status: 200, body: objectResource(obj) };
  }

  /** Works out what a request is (for the log) and how to answer it. */
  function route(req: http.IncomingMessage, entry: FakeGcsRequest): (body: Buffer) => Reply {
    const u = new URL(req.url ?? '/', 'http://fake');
    const q = u.searchParams;
    const method = req.method ?? 'GET';
    let segs = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segs[0] === 'upload' || segs[0] === 'download') {
      if (segs[1] !== 'storage' || segs[2] !== 'v1') return unknown;
      const kind = segs[0];
      segs = segs.slice(3);
      if (kind === 'upload') {
        const bucket = segs[0] === 'b' && segs[2] === 'o' && segs.length === 3 ? segs[1]! : undefined;
        if (!bucket) return unknown;
        entry.bucket = bucket;
        entry.object = q.get('name') ?? undefined;
        const type = q.get('uploadType');
        if (method === 'POST' && type === 'multipart') return op('upload', (b) => multipartUpload(bucket, q, req, b));
        if (method === 'POST' && type === 'media') {
          return op('upload', (b) => ({
            status: 200,
            body: objectResource(store(bucket, q.get('name') ?? '', b, String(req.headers['content-type'] ?? ''), {})),
          }));
        }
        if (method === 'POST' && type === 'resumable') return op('upload.start', (b) => startResumable(bucket, q, req, b));
        if (method === 'PUT' && q.get('upload_id')) return op('upload.data', (b) => continueResumable(q.get('upload_id')!, req, b));
        if (method === 'DELETE' && q.get('upload_id')) {
          return op('upload.cancel', () => (sessions.delete(q.get('upload_id')!) ? { status: 499, body: '' } : { status: 404, body: '' }));
        }
        return unknown;
      }
      // `download/storage/v1/b/<bucket>/o/<object>` is the same as `…?alt=media`.
      q.set('alt', 'media');
    } else if (segs[0] === 'storage' && segs[1] === 'v1') {
      segs = segs.slice(2);
    }
    if (segs[0] !== 'b') return unknown;
    const bucket = segs[1];
    entry.bucket = bucket;
    if (bucket === undefined) {
      if (method === 'POST') {
        return op('bucket.insert', (b) => {
          const name = String((JSON.parse(b.toString() || '{}') as { name?: string }).name ?? '');
          if (!name) throw badRequest('Required bucket name is missing.');
          if (buckets.has(name)) throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
          addBucket(name);
          return { status: 200, body: bucketResource(name) };
        });
      }
      return unknown;
    }
    if (segs.length === 2) {
      if (method === 'GET') {
        return op('bucket.get', () => {
          bucketOf(bucket);
          return { status: 200, body: bucketResource(bucket) };
        });
      }
      if (method === 'DELETE') {
        return op('bucket.delete', () => {
          if (bucketOf(bucket).size) throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
          buckets.delete(bucket);
          return { status: 204, body: '' };
        });
      }
      return unknown;
    }
    if (segs[2] !== 'o') return unknown;
    if (segs.length === 3 && method === 'GET') return op('list', () => list(bucket, q));
    if (segs.length !== 4) return unknown;
    const name = segs[3]!;
    entry.object = name;
    const find = () => {
      const o = bucketOf(bucket).get(name);
      if (!o) throw notFound(`No such object: ${bucket}/${name}`);
      return o;
    };
    if (method === 'GET' && q.get('alt') === 'media') return op('media', () => media(find(), req.headers.range));
    if (method === 'GET') return op('get', () => ({ status: 200, body: objectResource(find()) }));
    if (method === 'DELETE') {
      return op('delete', () => {
        find();
        bucketOf(bucket).delete(name);
        return { status: 204, body: '' };
      });
    }
    return unknown;

    function op(name: string, handler: (body: Buffer) => Reply) {
      entry.op = name;
      return handler;
    }
  }

  const unknown = (): Reply => {
    throw new HttpError(501, 'The fake GCS server does not implement this request.', 'notImplemented');
  };

  function send(res: http.ServerResponse, reply: Reply): void {
    const headers: Record<string, string> = { ...reply.headers };
    let body: Buffer;
    if (Buffer.isBuffer(reply.body)) body = reply.body;
    else if (typeof reply.body === 'string' || reply.body === undefined) body = Buffer.from(reply.body ?? '');
    else {
      body = Buffer.from(JSON.stringify(reply.body));
      headers['content-type'] = 'application/json; charset=UTF-8';
    }
    if (reply.status === 204) body = Buffer.alloc(0);
    headers['content-length'] = String(body.length);
    res.writeHead(reply.status, headers).end(body);
  }

  function sendError(res: http.ServerResponse, status: number, message: string, reason: string): void {
    send(res, { status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: errorBody(status, message, reason) });
  }

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const matches = (m: RequestMatcher | undefined, entry: FakeGcsRequest) => m === undefined || m(entry);

  const server = http.createServer((req, res) => {
    const entry: FakeGcsRequest = { method: req.method ?? 'GET', url: req.url ?? '/', op: 'unknown', writesBefore: writes.length };
    if (req.headers.authorization) entry.authorization = req.headers.authorization;
    requests.push(entry);
    let handler: (body: Buffer) => Reply;
    try {
      handler = route(req, entry);
    } catch (err) {
      handler = () => {
        throw badRequest(`Malformed request path: ${(err as Error).message}`);
      };
    }
    if (drops.n > 0 && matches(drops.match, entry)) {
      drops.n--;
      entry.status = 'dropped';
      entry.bytes = 0;
      req.socket.destroy();
      return;
    }
    void (async () => {
      const body = await readBody(req);
      entry.bytes = body.length;
      for (const h of holds) if (matches(h.match, entry)) await h.released;
      if (latency.ms > 0 && matches(latency.match, entry)) await delay(latency.ms);
      if (res.destroyed || stopped) return;
      if (down) return sendError(res, (entry.status = 503), 'The fake GCS server is down.', 'backendError');
      if (failures.n > 0 && matches(failures.match, entry)) {
        failures.n--;
        return sendError(res, (entry.status = failures.status), `Injected failure (${failures.status}).`, 'backendError');
      }
      try {
        const reply = handler(body);
        entry.status = reply.status;
        send(res, reply);
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(400, (err as Error).message, 'invalid');
        sendError(res, (entry.status = e.status), e.message, e.reason);
      }
    })().catch((err: Error) => {
      // A client that gave up mid-body ends here too; there is nobody to answer then.
      if (!res.headersSent && !res.destroyed) sendError(res, 500, err.message, 'backendError');
    });
  });

  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  const clearFaults = () => {
    failures = { n: 0, status: 503 };
    latency = { ms: 0 };
    drops = { n: 0 };
    corruptions = 0;
    down = false;
  };

  return {
    url: baseUrl,
    host: `127.0.0.1:${port}`,
    port,
    writes,
    requests,
    requestsFor: (bucket, key) => requests.filter((r) => r.bucket === bucket && r.object === key),
    object: (bucket, key) => buckets.get(bucket)?.get(key)?.data,
    getObject(bucket, key) {
      const o = bucketOf(bucket).get(key);
      if (!o) throw new Error(`fake GCS: no object ${bucket}/${key} (it has: ${[...bucketOf(bucket).keys()].sort().join(', ') || 'nothing'})`);
      return o.data;
    },
    objects: (bucket) =>
      [...bucketOf(bucket).values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((o) => ({ key: o.name, data: o.data, contentType: o.contentType })),
    keys: (bucket, prefix = '') => [...(buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort(),
    failNext(n, opts = {}) {
      const o = typeof opts === 'number' ? { status: opts } : opts;
      failures = { n, status: o.status ?? 503, match: o.match };
    },
    setLatency(ms, m) {
      latency = { ms, match: m };
    },
    dropNextConnections(n, m) {
      drops = { n, match: m };
    },
    hold(m) {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      holds.push({ match: m, released, release });
      return release;
    },
    corruptNextDownloads(n) {
      corruptions = n;
    },
    setDown(d) {
      down = d;
    },
    clearFaults,
    createBucket: addBucket,
    addBucket,
    removeBucket(name) {
      buckets.delete(name);
    },
    putObject(bucket, key, data, contentType = 'application/octet-stream') {
      store(bucket, key, data, contentType, {});
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearFaults();
      for (const h of holds.splice(0)) h.release();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
