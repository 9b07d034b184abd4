/**
 * S3 and SQS for tests: fauxqs (the npm package, in-process, on 127.0.0.1 and
 * a free port) behind a small node:http reverse proxy that records every
 * request and injects faults (fauxqs itself has no fault injection).
 *
 * The code under test talks to `url` (the proxy); the helpers here (creating
 * buckets and queues, reading objects, receiving messages) use real AWS SDK
 * clients that talk to fauxqs directly, so faults never touch them.
 *
 * fauxqs is ESM-only. It is loaded with a real dynamic import; under Jest
 * (a vm context without --experimental-vm-modules) that import is compiled in
 * the main context with Node's default ESM loader.
 */
import http from 'node:http';
import vm from 'node:vm';
import type { Socket } from 'node:net';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

export const FAKE_REGION = 'us-west-2';
export const FAKE_ACCESS_KEY = 'AKIDFAKEFAKEFAKE';
export const FAKE_SECRET = 'fake-secret-access-key';

export interface ReceivedMessage {
  body: string;
  attributes: Record<string, unknown> | undefined;
}

export interface FakeAwsRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  service: 's3' | 'sqs' | 'other';
  /** SQS: the action from X-Amz-Target (`SendMessage`, `GetQueueUrl`, …). */
  action?: string;
  /** S3 (path-style): the bucket and the decoded key ('' for bucket-level requests). */
  bucket?: string;
  key?: string;
  /** Status answered, `dropped` when the connection was destroyed, `aborted` when the client gave up first. */
  status?: number | 'dropped' | 'aborted';
  /** Whether the answer was an injected fault rather than fauxqs's. */
  injected?: boolean;
  /** S3: the flexible-checksum headers the SDK sent (`x-amz-checksum-crc32: …`), by algorithm. */
  checksums?: Record<string, string>;
  /** Whether the client sent `Expect: 100-continue`. */
  expectContinue?: boolean;
}

export interface FailOptions {
  /** HTTP status of the injected error (default 503). */
  status?: number;
  /** Error code in the body (default by status: SlowDown / ServiceUnavailable for 503, AccessDenied for 403, …). */
  code?: string;
  /** Only requests matching this count towards `n` (default: every request). */
  match?: (req: FakeAwsRequest) => boolean;
}

export interface FakeAws {
  /** `http://127.0.0.1:PORT` of the proxy: the endpoint for the code under test. */
  url: string;
  port: number;
  /** fauxqs itself, bypassing the proxy. */
  fauxqsUrl: string;
  region: string;
  /** Every request the proxy received, in order of arrival. */
  requests: FakeAwsRequest[];
  /** Requests for one S3 object. */
  requestsFor(bucket: string, key: string): FakeAwsRequest[];
  createBucket(name: string): Promise<void>;
  deleteBucket(name: string): Promise<void>;
  /** Creates a standard queue; returns its URL. */
  createQueue(name: string): Promise<string>;
  deleteQueue(queueUrl: string): Promise<void>;
  /** An object's bytes (read with GetObject), or undefined when it does not exist. */
  getObject(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Object keys in a bucket, sorted, optionally under a prefix. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Receives (and deletes) every message now visible on a queue; returns the raw messages. */
  /** Receives and deletes every waiting message, appending each to `into` as it arrives (kept if a later call fails). */
  receiveAll(queueUrl: string, into?: ReceivedMessage[]): Promise<ReceivedMessage[]>;
  /** Answers the next `n` (matching) requests with an error, without forwarding them. */
  failNext(n: number, opts?: FailOptions): void;
  /** Waits `ms` before forwarding every request. */
  setLatency(ms: number): void;
  /** Destroys the connection of the next `n` requests without answering. */
  dropNextConnections(n: number): void;
  /**
   * Keeps (matching) requests open, neither forwarded nor answered (no fault
   * applied yet), until the returned function is called; stop() lets them go
   * too. Lets a test look at what the client sends meanwhile.
   */
  hold(match?: (req: FakeAwsRequest) => boolean): () => void;
  /**
   * An outage until called with `false`: every (matching) request is answered
   * with an error (`status`, default 503) or, with `drop`, has its connection
   * destroyed. Requests already forwarded finish normally.
   */
  setDown(down: false | { status?: number; drop?: boolean; match?: (req: FakeAwsRequest) => boolean }): void;
  /** Environment for loadConfig: s3 storage on this fake (dummy credentials, region, endpoint, path style). */
  storageEnv(bucket: string, extra?: Record<string, string>): Record<string, string>;
  /** Environment for loadConfig: sqs publishing on this fake. */
  publishEnv(queue: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

// --- loading fauxqs (ESM) from CommonJS / ts-jest ---

type Importer = (specifier: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A dynamic import TypeScript does not rewrite to require(). */
const nativeImport = new Function('s', 'return import(s)') as Importer;

let mainContextImport: Importer | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a module's namespace, whatever it exports
function importInMainContext(specifier: string): Promise<any> {
  if (!mainContextImport) {
    // Node ≥ 20.12: compile the import in the main context with the default loader.
    const loader = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    if (!loader) throw new Error('loading fauxqs (ESM) under Jest needs Node ≥ 20.12 or --experimental-vm-modules');
    const script = new vm.Script('(s) => import(s)', { filename: __filename, importModuleDynamically: loader });
    mainContextImport = script.runInThisContext() as Importer;
  }
  return mainContextImport(specifier);
}

interface FauxqsModule {
  buildApp(options?: { logger?: boolean; host?: string; defaultRegion?: string }): {
    listen(opts: { port: number; host: string }): Promise<string>;
    close(): Promise<void>;
  };
}

let fauxqsModule: Promise<FauxqsModule> | undefined;
function loadFauxqs(): Promise<FauxqsModule> {
  fauxqsModule ??= nativeImport('fauxqs').catch((err: NodeJS.ErrnoException) => {
    // Jest runs test code in a vm context whose dynamic import needs --experimental-vm-modules.
    if (err?.code === 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' || /dynamic import callback/i.test(err?.message ?? '')) {
      return importInMainContext('fauxqs');
    }
    throw err;
  });
  return fauxqsModule;
}

// --- the fake ---

function describeRequest(req: http.IncomingMessage): FakeAwsRequest {
  const url = req.url ?? '/';
  const entry: FakeAwsRequest = { method: req.method ?? 'GET', url, service: 'other' };
  const target = req.headers['x-amz-target'];
  const contentType = String(req.headers['content-type'] ?? '');
  if (typeof target === 'string' && target.startsWith('AmazonSQS.')) {
    entry.service = 'sqs';
    entry.action = target.slice('AmazonSQS.'.length);
  } else if (!contentType.includes('x-amz-json') && !contentType.includes('x-www-form-urlencoded')) {
    const path = url.split('?')[0]!;
    const [bucket, ...rest] = path.replace(/^\//, '').split('/');
    if (bucket) {
      entry.service = 's3';
      entry.bucket = decodeURIComponent(bucket);
      entry.key = rest.map(decodeURIComponent).join('/');
      for (const [h, v] of Object.entries(req.headers)) {
        if (h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type' && typeof v === 'string') {
          (entry.checksums ??= {})[h.slice('x-amz-checksum-'.length)] = v;
        }
      }
    }
  }
  if (/100-continue/i.test(String(req.headers.expect ?? ''))) entry.expectContinue = true;
  return entry;
}

const S3_CODES: Record<number, [string, string]> = {
  403: ['AccessDenied', 'Access Denied'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
};
const SQS_CODES: Record<number, [string, string]> = {
  403: ['AccessDenied', 'Access to the resource is denied.'],
  500: ['InternalFailure', 'The request processing has failed because of an unknown error.'],
  503: ['ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'],
};

/** An error answer in the protocol of the request (S3 REST-XML or SQS JSON). */
function sendError(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest, status: number, code?: string): void {
  if (entry.service === 'sqs') {
    const [defCode, message] = SQS_CODES[status] ?? ['InternalFailure', `injected ${status}`];
    const c = code ?? defCode;
    const body = JSON.stringify({ __type: `com.amazonaws.sqs#${c}`, message });
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `AWS.SimpleQueueService.${c};${status < 500 ? 'Sender' : 'Receiver'}`,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  const [defCode, message] = S3_CODES[status] ?? ['InternalError', `injected ${status}`];
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code ?? defCode}</Code><Message>${message}</Message>` +
    `<RequestId>FAKEAWS0000000</RequestId><HostId>fake-aws</HostId></Error>`;
  if (req.method === 'HEAD') {
    res.writeHead(status, { 'x-amz-request-id': 'FAKEAWS0000000' });
    res.end();
  } else {
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'FAKEAWS0000000' });
    res.end(body);
  }
}

export async function startFakeAws(): Promise<FakeAws> {
  const { buildApp } = await loadFauxqs();
  const app = buildApp({ logger: false });
  const fauxqsUrl = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const upstream = new URL(fauxqsUrl);
  const upstreamAgent = new http.Agent({ keepAlive: false });

  const requests: FakeAwsRequest[] = [];
  const fails: Array<Required<Pick<FailOptions, 'status'>> & FailOptions & { left: number }> = [];
  let latencyMs = 0;
  let dropsLeft = 0;
  let down: { status: number; code?: string; drop: boolean; match?: (req: FakeAwsRequest) => boolean } | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const holds: Array<{ match?: (req: FakeAwsRequest) => boolean; released: Promise<void>; release: () => void }> = [];

  function takeFault(entry: FakeAwsRequest): FailOptions | undefined {
    for (const f of fails) {
      if (f.left > 0 && (!f.match || f.match(entry))) {
        f.left--;
        return f;
      }
    }
    return undefined;
  }

  function forward(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest): void {
    const headers = { ...req.headers };
    delete headers.expect; // the proxy already answered 100-continue
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: upstreamAgent }, (upRes) => {
      entry.status = upRes.statusCode;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) {
        entry.status ??= 'aborted';
        up.destroy();
      }
    });
    req.pipe(up);
  }

  const proxy = http.createServer((req, res) => {
    const entry = describeRequest(req);
    requests.push(entry);
    const held = holds.filter((h) => !h.match || h.match(entry));
    if (held.length === 0) return handle(req, res, entry);
    void Promise.all(held.map((h) => h.released)).then(() => {
      if (res.destroyed) entry.status ??= 'aborted';
      else handle(req, res, entry);
    });
  });

  function handle(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest): void {
    const outage = down && (!down.match || down.match(entry)) ? down : undefined;
    if (dropsLeft > 0 || outage?.drop) {
      if (!outage) dropsLeft--;
      entry.status = 'dropped';
      entry.injected = true;
      req.socket.destroy();
      return;
    }
    const fault = outage ?? takeFault(entry);
    if (fault) {
      entry.status = fault.status!;
      entry.injected = true;
      req.resume();
      req.on('end', () => sendError(req, res, entry, fault.status!, fault.code));
      return;
    }
    if (latencyMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) forward(req, res, entry);
      }, latencyMs);
      timers.add(timer);
      res.on('close', () => {
        if (timers.delete(timer)) {
          clearTimeout(timer);
          entry.status ??= 'aborted';
        }
      });
      return;
    }
    forward(req, res, entry);
  }
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (proxy.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;

  // Helper clients: straight to fauxqs, one attempt, dummy credentials.
  const common = {
    region: FAKE_REGION,
    endpoint: fauxqsUrl,
    credentials: { accessKeyId: FAKE_ACCESS_KEY, secretAccessKey: FAKE_SECRET },
    maxAttempts: 1,
  };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sqs = new SQSClient(common);

  const fake: FakeAws = {
    url,
    port,
    fauxqsUrl,
    region: FAKE_REGION,
    requests,
    requestsFor: (bucket, key) => requests.filter((r) => r.service === 's3' && r.bucket === bucket && r.key === key),
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async deleteBucket(name) {
      for (const key of await fake.keys(name)) await s3.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
      await s3.send(new DeleteBucketCommand({ Bucket: name }));
    },
    async createQueue(name) {
      const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
      return out.QueueUrl!;
    },
    async deleteQueue(queueUrl) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
    async getObject(bucket, key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw err;
      }
    },
    async keys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of out.Contents ?? []) keys.push(o.Key!);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async receiveAll(queueUrl, messages = []) {
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
        );
        const batch = out.Messages ?? [];
        if (batch.length === 0) return messages;
        for (const m of batch) {
          messages.push({ body: m.Body!, attributes: m.MessageAttributes });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
    },
    failNext(n, opts = {}) {
      fails.push({ ...opts, status: opts.status ?? 503, left: n });
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    dropNextConnections(n) {
      dropsLeft += n;
    },
    hold(match) {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      holds.push({ match, released, release });
      return release;
    },
    setDown(opts) {
      down = opts ? { status: opts.status ?? 503, drop: opts.drop ?? false, match: opts.match } : undefined;
    },
    storageEnv(bucket, extra = {}) {
      return {
        CRASHMOVER_CRASHSTORAGE_CLASS: 's3',
        CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: bucket,
        CRASHMOVER_CRASHSTORAGE_REGION: FAKE_REGION,
        CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL: url,
        CRASHMOVER_CRASHSTORAGE_FORCE_PATH_STYLE: 'true',
        CRASHMOVER_CRASHSTORAGE_ACCESS_KEY: FAKE_ACCESS_KEY,
        CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY: FAKE_SECRET,
        ...extra,
      };
    },
    publishEnv(queue, extra = {}) {
      return {
        CRASHMOVER_CRASHPUBLISH_CLASS: 'sqs',
        CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: queue,
        CRASHMOVER_CRASHPUBLISH_REGION: FAKE_REGION,
        CRASHMOVER_CRASHPUBLISH_ENDPOINT_URL: url,
        CRASHMOVER_CRASHPUBLISH_ACCESS_KEY: FAKE_ACCESS_KEY,
        CRASHMOVER_CRASHPUBLISH_SECRET_ACCESS_KEY: FAKE_SECRET,
        ...extra,
      };
    },
    async stop() {
      for (const h of holds.splice(0)) h.release();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      s3.destroy();
      sqs.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      upstreamAgent.destroy();
      await app.close();
    },
  };
  return fake;
}
