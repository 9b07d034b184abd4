/**
 * The JSON API's routing: what a request is (recorded in the request log) and
 * the handler that answers it from the store. Paths are accepted with and
 * without the `/storage/v1` prefix: the client drops it when the
 * STORAGE_EMULATOR_HOST environment variable is set.
 */
import type http from 'node:http';
import { bucketResource, listPage, mediaReply, objectResource } from './resources';
import type { GcsStore } from './store';
import type { FakeGcsRequest } from './types';
import { Uploads } from './uploads';
import { HttpError, badRequest, type Reply } from './wire';

/** Answers a request from its body; throws an HttpError to answer with an error. */
export type Handler = (body: Buffer) => Reply;

export interface ProtocolOptions {
  /** Most objects one list page holds. */
  maxPageSize?: number;
  /** Sees every media download before it is sent (fault injection corrupts some). */
  onMedia: (reply: Reply) => Reply;
}

const unknown: Handler = () => {
  throw new HttpError(501, 'The fake GCS server does not implement this request.', 'notImplemented');
};

/** Records what the request is and hands back its handler. */
function op(entry: FakeGcsRequest, name: string, handler: Handler): Handler {
  entry.op = name;
  return handler;
}

export class GcsProtocol {
  /** `http://127.0.0.1:PORT`, known once the server listens; links in resources point at it. */
  baseUrl = '';
  private readonly uploads: Uploads;

  constructor(
    private readonly store: GcsStore,
    private readonly opts: ProtocolOptions,
  ) {
    this.uploads = new Uploads(store, () => this.baseUrl);
  }

  /** Works out what a request is (for the log) and how to answer it. */
  route(req: http.IncomingMessage, entry: FakeGcsRequest): Handler {
    const u = new URL(req.url ?? '/', 'http://fake');
    const q = u.searchParams;
    const method = req.method ?? 'GET';
    let segs = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segs[0] === 'upload' || segs[0] === 'download') {
      if (segs[1] !== 'storage' || segs[2] !== 'v1') return unknown;
      const kind = segs[0];
      segs = segs.slice(3);
      if (kind === 'upload') return this.routeUpload(segs, q, req, entry);
      // `download/storage/v1/b/<bucket>/o/<object>` is the same as `…?alt=media`.
      q.set('alt', 'media');
    } else if (segs[0] === 'storage' && segs[1] === 'v1') {
      segs = segs.slice(2);
    }
    if (segs[0] !== 'b') return unknown;
    const bucket = segs[1];
    entry.bucket = bucket;
    if (bucket === undefined) return method === 'POST' ? op(entry, 'bucket.insert', (b) => this.insertBucket(b)) : unknown;
    if (segs.length === 2) return this.routeBucket(bucket, method, entry);
    if (segs[2] !== 'o') return unknown;
    if (segs.length === 3 && method === 'GET') {
      return op(entry, 'list', () => listPage(this.store.bucketOf(bucket), q, this.opts.maxPageSize, this.baseUrl));
    }
    if (segs.length !== 4) return unknown;
    return this.routeObject(bucket, segs[3]!, q, req, entry);
  }

  /** `upload/storage/v1/b/<bucket>/o?uploadType=…` */
  private routeUpload(segs: string[], q: URLSearchParams, req: http.IncomingMessage, entry: FakeGcsRequest): Handler {
    const bucket = segs[0] === 'b' && segs[2] === 'o' && segs.length === 3 ? segs[1]! : undefined;
    if (!bucket) return unknown;
    entry.bucket = bucket;
    entry.object = q.get('name') ?? undefined;
    const method = req.method ?? 'GET';
    const type = q.get('uploadType');
    const id = q.get('upload_id');
    if (method === 'POST' && type === 'multipart') return op(entry, 'upload', (b) => this.uploads.multipart(bucket, q, req, b));
    if (method === 'POST' && type === 'media') return op(entry, 'upload', (b) => this.uploads.media(bucket, q, req, b));
    if (method === 'POST' && type === 'resumable') return op(entry, 'upload.start', (b) => this.uploads.startResumable(bucket, q, req, b));
    if (method === 'PUT' && id) return op(entry, 'upload.data', (b) => this.uploads.continueResumable(id, req, b));
    if (method === 'DELETE' && id) return op(entry, 'upload.cancel', () => this.uploads.cancel(id));
    return unknown;
  }

  private insertBucket(body: Buffer): Reply {
    const name = String((JSON.parse(body.toString() || '{}') as { name?: string }).name ?? '');
    if (!name) throw badRequest('Required bucket name is missing.');
    if (this.store.buckets.has(name)) {
      throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
    }
    this.store.addBucket(name);
    return { status: 200, body: bucketResource(name, this.baseUrl) };
  }

  /** `b/<bucket>` */
  private routeBucket(bucket: string, method: string, entry: FakeGcsRequest): Handler {
    if (method === 'GET') {
      return op(entry, 'bucket.get', () => {
        this.store.bucketOf(bucket);
        return { status: 200, body: bucketResource(bucket, this.baseUrl) };
      });
    }
    if (method === 'DELETE') {
      return op(entry, 'bucket.delete', () => {
        if (this.store.bucketOf(bucket).size) throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
        this.store.buckets.delete(bucket);
        return { status: 204, body: '' };
      });
    }
    return unknown;
  }

  /** `b/<bucket>/o/<object>` */
  private routeObject(bucket: string, name: string, q: URLSearchParams, req: http.IncomingMessage, entry: FakeGcsRequest): Handler {
    entry.object = name;
    const method = req.method ?? 'GET';
    if (method === 'GET' && q.get('alt') === 'media') {
      return op(entry, 'media', () => this.opts.onMedia(mediaReply(this.store.find(bucket, name), req.headers.range)));
    }
    if (method === 'GET') return op(entry, 'get', () => ({ status: 200, body: objectResource(this.store.find(bucket, name), this.baseUrl) }));
    if (method === 'DELETE') {
      return op(entry, 'delete', () => {
        this.store.find(bucket, name);
        this.store.bucketOf(bucket).delete(name);
        return { status: 204, body: '' };
      });
    }
    return unknown;
  }
}
