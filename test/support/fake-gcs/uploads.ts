/** Object uploads as the JSON API takes them: multipart, single-request media, and resumable sessions. */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { objectResource } from './resources';
import { checkHashes, type GcsStore } from './store';
import type { StoredGcsObject } from './types';
import { badRequest, notFound, parseGoogHash, parseMultipart, type Reply } from './wire';

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string>;
  received: Buffer;
  done?: StoredGcsObject;
}

export class Uploads {
  private readonly sessions = new Map<string, ResumableSession>();

  constructor(
    private readonly store: GcsStore,
    private readonly baseUrl: () => string,
  ) {}

  /** `uploadType=media`: the body is the object, the name is in the query. */
  media(bucket: string, q: URLSearchParams, req: http.IncomingMessage, body: Buffer): Reply {
    return {
      status: 200,
      body: objectResource(this.store.put(bucket, q.get('name') ?? '', body, String(req.headers['content-type'] ?? ''), {}), this.baseUrl()),
    };
  }

  /** Ends a resumable session: 499 as GCS answers, or 404 when there is no such session. */
  cancel(id: string): Reply {
    return this.sessions.delete(id) ? { status: 499, body: '' } : { status: 404, body: '' };
  }

  startResumable(bucket: string, q: URLSearchParams, req: http.IncomingMessage, body: Buffer): Reply {
    this.store.bucketOf(bucket);
    const meta = body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {};
    const name = q.get('name') ?? (meta.name as string | undefined) ?? '';
    if (!name) throw badRequest('Required object name is missing.');
    const id = randomUUID();
    this.sessions.set(id, {
      bucket,
      name,
      contentType: String(req.headers['x-upload-content-type'] ?? meta.contentType ?? 'application/octet-stream'),
      metadata: (meta.metadata as Record<string, string> | undefined) ?? {},
      received: Buffer.alloc(0),
    });
    const location = `${this.baseUrl()}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    return { status: 200, headers: { location, 'x-guploader-uploadid': id }, body: '' };
  }

  continueResumable(id: string, req: http.IncomingMessage, body: Buffer): Reply {
    const s = this.sessions.get(id);
    if (!s) throw notFound('No such upload session.');
    const incomplete = (): Reply => ({
      status: 308,
      headers: s.received.length ? { range: `bytes=0-${s.received.length - 1}` } : {},
      body: '',
    });
    if (s.done) return { status: 200, body: objectResource(s.done, this.baseUrl()) };
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
    s.done = this.store.put(s.bucket, s.name, s.received, s.contentType, s.metadata);
    return { status: 200, body: objectResource(s.done, this.baseUrl()) };
  }

  multipart(bucket: string, q: URLSearchParams, req: http.IncomingMessage, body: Buffer): Reply {
    this.store.bucketOf(bucket);
    const boundary = /boundary="?([^";]+)"?/.exec(String(req.headers['content-type'] ?? ''))?.[1];
    if (!boundary) throw badRequest('multipart upload without a boundary');
    const parts = parseMultipart(body, boundary);
    if (parts.length !== 2) throw badRequest(`multipart upload needs 2 parts, got ${parts.length}`);
    const meta = JSON.parse(parts[0]!.data.toString() || '{}') as Record<string, unknown>;
    const data = parts[1]!.data;
    checkHashes(data, { crc32c: meta.crc32c as string | undefined, md5: meta.md5Hash as string | undefined });
    const name = q.get('name') ?? (meta.name as string | undefined) ?? '';
    const contentType = (meta.contentType as string | undefined) ?? parts[1]!.headers['content-type'] ?? 'application/octet-stream';
    const obj = this.store.put(bucket, name, data, contentType, (meta.metadata as Record<string, string> | undefined) ?? {});
    return { status: 200, body: objectResource(obj, this.baseUrl()) };
  }
}
