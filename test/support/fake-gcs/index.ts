/**
 * An in-process Google Cloud Storage JSON API server for tests (node:http on
 * 127.0.0.1, a free port). It speaks enough of the real protocol for
 * @google-cloud/storage to run unmodified against it — multipart and resumable
 * uploads, object metadata, `alt=media` downloads with `x-goog-hash`, listing
 * with paging, delete, bucket get/insert — and injects faults on demand.
 *
 * Its parts: protocol.ts routes the JSON API (uploads.ts, resources.ts),
 * store.ts holds buckets and objects, faults.ts injects failures; this file
 * runs the HTTP server that ties them together.
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
import http from 'node:http';
import nodeModule from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { GcsFaults } from './faults';
import { GcsProtocol, type Handler } from './protocol';
import { GcsStore } from './store';
import type { FakeGcs, FakeGcsOptions, FakeGcsRequest, RequestMatcher } from './types';
import { HttpError, badRequest, readBody, send, sendError } from './wire';

export { crc32c, crc32cBase64 } from './store';
export type { FailOptions, FakeGcs, FakeGcsOptions, FakeGcsRequest, RequestMatcher, StoredGcsObject } from './types';

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

interface Parts {
  store: GcsStore;
  faults: GcsFaults;
  protocol: GcsProtocol;
  requests: FakeGcsRequest[];
  isStopped: () => boolean;
}

/** Logs a request, applies the faults that match it, and answers it through the protocol. */
function handleRequest({ store, faults, protocol, requests, isStopped }: Parts, req: http.IncomingMessage, res: http.ServerResponse): void {
  const entry: FakeGcsRequest = { method: req.method ?? 'GET', url: req.url ?? '/', op: 'unknown', writesBefore: store.writes.length };
  if (req.headers.authorization) entry.authorization = req.headers.authorization;
  requests.push(entry);
  let handler: Handler;
  try {
    handler = protocol.route(req, entry);
  } catch (err) {
    handler = () => {
      throw badRequest(`Malformed request path: ${(err as Error).message}`);
    };
  }
  if (faults.takeDrop(entry)) {
    entry.status = 'dropped';
    entry.bytes = 0;
    req.socket.destroy();
    return;
  }
  void (async () => {
    const body = await readBody(req);
    entry.bytes = body.length;
    await faults.delay(entry);
    if (res.destroyed || isStopped()) return;
    const injected = faults.takeError(entry);
    if (injected) return sendError(res, (entry.status = injected.status), injected.message, 'backendError');
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
}

export async function startFakeGcs(opts: FakeGcsOptions = {}): Promise<FakeGcs> {
  const store = new GcsStore();
  const faults = new GcsFaults();
  const protocol = new GcsProtocol(store, { maxPageSize: opts.maxPageSize, onMedia: (reply) => faults.corrupt(reply) });
  const requests: FakeGcsRequest[] = [];
  let stopped = false;
  for (const b of opts.buckets ?? []) store.addBucket(b);

  const parts: Parts = { store, faults, protocol, requests, isStopped: () => stopped };
  const server = http.createServer((req, res) => handleRequest(parts, req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  protocol.baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: protocol.baseUrl,
    host: `127.0.0.1:${port}`,
    port,
    ...storeView(store),
    requests,
    requestsFor: (bucket, key) => requests.filter((r) => r.bucket === bucket && r.object === key),
    failNext: (n, o) => faults.failNext(n, o),
    setLatency: (ms, m) => faults.setLatency(ms, m),
    dropNextConnections: (n, m) => faults.dropNextConnections(n, m),
    hold: (m) => faults.hold(m),
    corruptNextDownloads: (n) => faults.corruptNextDownloads(n),
    setDown: (d) => faults.setDown(d),
    clearFaults: () => faults.clear(),
    async stop() {
      if (stopped) return;
      stopped = true;
      faults.stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The handle's view of the store: what tests read and seed. */
function storeView(store: GcsStore) {
  const addBucket = (name: string) => store.addBucket(name);
  return {
    writes: store.writes,
    object: (bucket: string, key: string) => store.buckets.get(bucket)?.get(key)?.data,
    getObject(bucket: string, key: string): Buffer {
      const o = store.bucketOf(bucket).get(key);
      if (!o) throw new Error(`fake GCS: no object ${bucket}/${key} (it has: ${[...store.bucketOf(bucket).keys()].sort().join(', ') || 'nothing'})`);
      return o.data;
    },
    objects: (bucket: string) =>
      [...store.bucketOf(bucket).values()]
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((o) => ({ key: o.name, data: o.data, contentType: o.contentType })),
    keys: (bucket: string, prefix = '') => [...(store.buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort(),
    createBucket: addBucket,
    addBucket,
    removeBucket(name: string): void {
      store.buckets.delete(name);
    },
    putObject(bucket: string, key: string, data: Buffer, contentType = 'application/octet-stream'): void {
      store.put(bucket, key, data, contentType, {});
    },
  };
}
