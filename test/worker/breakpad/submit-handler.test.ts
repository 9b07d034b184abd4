import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createSubmitHandler, type SubmitDeps } from '../../../src/worker/breakpad/submit-handler';
import { MemoryBudget } from '../../../src/worker/breakpad/memory-budget';
import { TurnBudget } from '../../../src/worker/breakpad/turn-budget';
import type { PayloadLimits } from '../../../src/worker/breakpad/read-payload';
import { SinkRefusal, type CrashSink, type SinkOutcome } from '../../../src/worker/crashmover/crash-sink';
import type { ThrottleDecision } from '../../../src/worker/throttler';
import { byteLength, toBuffer, type CrashReport } from '../../../src/shared/crash-report';
import type { Logger } from '../../../src/shared/logging';
import { exactMetrics, type MetricCall } from '../../support/recording';
import { multipartBody, type Part } from '../../../src/tools/multipart-body';

// The /submit handler in a real node:http server on 127.0.0.1, with a fake
// throttler and sink: what the client reads, what the sink gets, what metrics say.

const B = 'XyZboundary';
const TOKEN = 'stage-secret-token';
const dump = Buffer.from([0x4d, 0x44, 0x4d, 0x50, 0x93, 0xa7, 0, 0, 0xff, 0x0d, 0x0a]);
const basicParts: Part[] = [
  { name: 'ProductName', data: 'Firefox' },
  { name: 'Version', data: '120.0' },
  { name: 'upload_file_minidump', data: dump, filename: 'x.dmp', contentType: 'application/octet-stream' },
];

interface Harness {
  url: { port: number };
  calls: MetricCall[];
  crashes: CrashReport[];
  logs: string[];
  errors: unknown[];
  budget: MemoryBudget;
  close(): Promise<void>;
}

interface Options {
  verdict?: ThrottleDecision['result'];
  outcome?: SinkOutcome | Error;
  /** The sink says it is done with the crash's bytes before it answers. */
  doneWithBytes?: boolean;
  limits?: Partial<PayloadLimits>;
  rejectLingerMs?: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function harness(opts: Options = {}): Promise<Harness> {
  const crashes: CrashReport[] = [];
  const logs: string[] = [];
  const errors: unknown[] = [];
  const { calls, metrics } = exactMetrics();
  const logger: Logger = {
    error: (m) => logs.push(`error ${m}`),
    warn: (m) => logs.push(`warn ${m}`),
    info: (m) => logs.push(`info ${m}`),
    debug: (m) => logs.push(`debug ${m}`),
    child: () => logger,
  };
  const sink: CrashSink = {
    async submit(crash) {
      crashes.push(crash);
      if (opts.doneWithBytes) crash.doneWithBytes?.();
      if (opts.outcome instanceof Error) throw opts.outcome;
      return opts.outcome ?? 'saved';
    },
    queueSize: 0,
    inFlight: 0,
    retryAfterSeconds: 17,
    drain: async () => {},
  };
  const budget = new MemoryBudget(1 << 30, 29);
  const limits: PayloadLimits = {
    maxPayloadSize: 1 << 20,
    maxDecompressedSize: 4 << 20,
    maxParts: 100,
    maxAnnotationSize: 65536,
    maxPartHeaderSize: 16384,
    maxGzipRatio: 100,
    bodyTimeoutMs: 5000,
    minBodyRate: 0,
    minBodyRateWindowMs: 30000,
    turnBudget: new TurnBudget(512 * 1024),
    memoryBudget: budget,
    ...opts.limits,
  };
  const deps: SubmitDeps = {
    limits,
    stageSubmitterBearerToken: TOKEN,
    rejectLingerMs: opts.rejectLingerMs ?? 2000,
    throttler: { throttle: () => ({ result: opts.verdict ?? 'ACCEPT', ruleName: 'test_rule', percentage: 100 }) },
    sink,
    logger,
    metrics,
  };
  const submit = createSubmitHandler(deps);
  const server = createServer((req, res) => {
    void submit(req, res, (err) => {
      errors.push(err);
      res.statusCode = 599;
      res.end('next');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: { port: (server.address() as AddressInfo).port },
    calls,
    crashes,
    logs,
    errors,
    budget,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function post(h: Harness, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.url.port,
        method: 'POST',
        path: '/submit',
        agent: false,
        headers: { 'content-type': `multipart/form-data; boundary=${B}`, 'content-length': String(body.length), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const named = (h: Harness, name: string) => h.calls.filter((c) => c.name === name).map(({ type, value, tags }) => ({ type, value, tags }));
const crashIdOf = (body: string) => /^CrashID=bp-([0-9a-f-]+)\n$/.exec(body)?.[1];

describe('POST /submit handler', () => {
  test('accepted: answers CrashID only after the sink has the crash, with its annotations, dump and metadata', async () => {
    const h = await harness();
    const body = multipartBody([...basicParts, { name: 'Email', data: 'me@example.com' }], B);
    const a = await post(h, body, { 'user-agent': 'Breakpad/1.0' });

    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(a.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
    const id = crashIdOf(a.body);
    expect(id).toBeDefined();
    expect(id![id!.length - 7]).toBe('0');

    expect(h.crashes).toHaveLength(1);
    const [crash] = h.crashes;
    expect(crash!.crashId).toBe(id);
    expect(crash!.rawCrash.uuid).toBe(id);
    expect(crash!.rawCrash.ProductName).toBe('Firefox');
    expect(crash!.rawCrash.Version).toBe('120.0');
    expect(crash!.rawCrash).not.toHaveProperty('Email');
    expect(crash!.rawCrash.version).toBe(2);
    const meta = crash!.rawCrash.metadata!;
    expect(meta.throttle_rule).toBe('test_rule');
    expect(meta.payload_compressed).toBe('0');
    expect(meta.payload_size).toBe(body.length);
    expect(meta.user_agent).toBe('Breakpad/1.0');
    expect(meta.collector_notes).toEqual(['Removed Email from raw crash.']);
    expect(toBuffer(crash!.dumps.get('upload_file_minidump')!)).toEqual(dump);

    expect(named(h, 'collector.breakpad_resource.incoming_crash')).toEqual([{ type: 'c', value: 1, tags: undefined }]);
    expect(named(h, 'collector.breakpad_resource.crash_size')).toEqual([{ type: 'h', value: body.length, tags: ['payload:uncompressed'] }]);
    expect(named(h, 'collector.breakpad_resource.throttle_rule')).toEqual([{ type: 'c', value: 1, tags: ['rule:test_rule'] }]);
    expect(named(h, 'collector.breakpad_resource.throttle')).toEqual([{ type: 'c', value: 1, tags: ['result:accept', 'rule:test_rule'] }]);
    expect(named(h, 'collector.breakpad_resource.gzipped_crash')).toEqual([]);
    expect(named(h, 'collector.breakpad_resource.gzipped_crash_decompress')).toEqual([]);
    const timing = named(h, 'collector.breakpad_resource.on_post.time');
    expect(timing).toHaveLength(1);
    expect(timing[0]!.type).toBe('ms');
    expect(timing[0]!.value).toBeGreaterThanOrEqual(0);
    expect(h.logs).toContain(`info ${id}: matched by test_rule; returned ACCEPT`);
    expect(h.budget.inUse).toBe(0);
  });

  test('no User-Agent is stored as None', async () => {
    const h = await harness();
    // node:http sends no User-Agent of its own.
    const a = await post(h, multipartBody(basicParts, B));
    expect(a.status).toBe(200);
    expect(h.crashes[0]!.rawCrash.metadata!.user_agent).toBe('None');
  });

  test('DEFER: a new crash id whose throttle digit is 1, and the crash is saved', async () => {
    const h = await harness({ verdict: 'DEFER' });
    const a = await post(h, multipartBody(basicParts, B));
    expect(a.status).toBe(200);
    const id = crashIdOf(a.body)!;
    expect(id[id.length - 7]).toBe('1');
    expect(h.crashes.map((c) => c.crashId)).toEqual([id]);
    expect(named(h, 'collector.breakpad_resource.throttle')).toEqual([{ type: 'c', value: 1, tags: ['result:defer', 'rule:test_rule'] }]);
  });

  test('REJECT: Discarded=rule_<name>, nothing saved', async () => {
    const h = await harness({ verdict: 'REJECT' });
    const a = await post(h, multipartBody(basicParts, B));
    expect(a).toMatchObject({ status: 200, body: 'Discarded=rule_test_rule' });
    expect(h.crashes).toEqual([]);
    expect(named(h, 'collector.breakpad_resource.throttle')).toEqual([{ type: 'c', value: 1, tags: ['result:reject', 'rule:test_rule'] }]);
  });

  test('FAKEACCEPT: a CrashID, nothing saved', async () => {
    const h = await harness({ verdict: 'FAKEACCEPT' });
    const a = await post(h, multipartBody(basicParts, B));
    expect(a.status).toBe(200);
    expect(crashIdOf(a.body)).toBeDefined();
    expect(h.crashes).toEqual([]);
  });

  describe('a client-supplied uuid', () => {
    const uuid = 'de1bb258-cbbf-4589-a673-34f800160918';
    const withUuid = (id: string) => multipartBody([...basicParts, { name: 'uuid', data: id }], B);

    test('without the stage submitter token: 401 Discarded=unauthorized_uuid, nothing saved', async () => {
      const h = await harness();
      expect(await post(h, withUuid(uuid))).toMatchObject({ status: 401, body: 'Discarded=unauthorized_uuid' });
      expect(await post(h, withUuid(uuid), { authorization: `Bearer ${TOKEN}x` })).toMatchObject({ status: 401 });
      expect(await post(h, withUuid(uuid), { authorization: TOKEN })).toMatchObject({ status: 401 });
      expect(h.crashes).toEqual([]);
      expect(named(h, 'collector.breakpad_resource.unauthorized_uuid')).toHaveLength(3);
    });

    test('with the token: the crash keeps its uuid', async () => {
      const h = await harness();
      const a = await post(h, withUuid(uuid), { authorization: `Bearer ${TOKEN}` });
      expect(a).toMatchObject({ status: 200, body: `CrashID=bp-${uuid}\n` });
      expect(h.crashes.map((c) => c.crashId)).toEqual([uuid]);
      expect(h.crashes[0]!.rawCrash.uuid).toBe(uuid);
      expect(h.logs).toContain(`info ${uuid} has existing crash_id`);
    });

    test('with the token but not a crash id: 400 Discarded=malformed_invalid_uuid', async () => {
      const h = await harness();
      const a = await post(h, withUuid('not-a-crash-id'), { authorization: `Bearer ${TOKEN}` });
      expect(a).toMatchObject({ status: 400, body: 'Discarded=malformed_invalid_uuid' });
      expect(h.crashes).toEqual([]);
      expect(named(h, 'collector.breakpad_resource.malformed')).toEqual([{ type: 'c', value: 1, tags: ['reason:invalid_uuid'] }]);
    });
  });

  describe('by the sink outcome', () => {
    test('refused: 503 with Retry-After and the reason', async () => {
      const h = await harness({ outcome: new SinkRefusal('queue_full', 7) });
      const a = await post(h, multipartBody(basicParts, B));
      expect(a.status).toBe(503);
      expect(a.headers['retry-after']).toBe('7');
      expect(a.body).toBe('Error: the collector is busy (save queue full); retry after 7 seconds');
      expect(h.budget.inUse).toBe(0);
    });

    test('unstorable: 400 Discarded=malformed_unstorable', async () => {
      const h = await harness({ outcome: 'unstorable' });
      const a = await post(h, multipartBody(basicParts, B));
      expect(a).toMatchObject({ status: 400, body: 'Discarded=malformed_unstorable' });
      expect(named(h, 'collector.breakpad_resource.malformed')).toEqual([{ type: 'c', value: 1, tags: ['reason:unstorable'] }]);
    });

    test('failed: 500 with the sink Retry-After', async () => {
      const h = await harness({ outcome: 'failed' });
      const a = await post(h, multipartBody(basicParts, B));
      expect(a).toMatchObject({ status: 500, body: 'Error: the crash could not be saved; please retry later' });
      expect(a.headers['retry-after']).toBe('17');
    });

    test('an unexpected error goes to next()', async () => {
      const boom = new Error('boom');
      const h = await harness({ outcome: boom });
      const a = await post(h, multipartBody(basicParts, B));
      expect(a).toMatchObject({ status: 599, body: 'next' });
      expect(h.errors).toEqual([boom]);
      expect(h.budget.inUse).toBe(0);
      expect(named(h, 'collector.breakpad_resource.on_post.time')).toHaveLength(1);
    });
  });

  describe('rejections', () => {
    test('a malformed request: 400, the malformed metric by reason, no Retry-After', async () => {
      const h = await harness();
      const a = await post(h, multipartBody(basicParts, B), { 'content-type': 'text/plain' });
      expect(a).toMatchObject({ status: 400, body: 'Discarded=malformed_wrong_content_type' });
      expect(a.headers['retry-after']).toBeUndefined();
      expect(named(h, 'collector.breakpad_resource.malformed')).toEqual([{ type: 'c', value: 1, tags: ['reason:wrong_content_type'] }]);
      expect(named(h, 'collector.breakpad_resource.refused')).toEqual([]);
      expect(h.logs).toContain('info rejected crash report: Discarded=malformed_wrong_content_type');
      expect(h.crashes).toEqual([]);
    });

    test('over the memory budget: 503 with Retry-After, the refused metric', async () => {
      const h = await harness({ limits: { memoryBudget: new MemoryBudget(4, 29) } });
      const a = await post(h, multipartBody(basicParts, B));
      expect(a.status).toBe(503);
      expect(a.headers['retry-after']).toBe('29');
      expect(a.body).toMatch(/^Error: the collector is busy .*BREAKPAD_WORKER_MEMORY_BUDGET.*retry after 29 seconds$/);
      expect(named(h, 'collector.breakpad_resource.refused')).toEqual([{ type: 'c', value: 1, tags: ['reason:memory_budget'] }]);
      expect(named(h, 'collector.breakpad_resource.malformed')).toEqual([]);
      expect(h.logs.some((l) => l.startsWith('warn refused crash report: Error: the collector is busy'))).toBe(true);
    });

    test('too large by its Content-Length: 413 before the body is read, and the connection is kept', async () => {
      const h = await harness();
      const body = multipartBody(basicParts, B);
      const answer = await rawExchange(
        h,
        `POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${2 << 20}\r\n\r\n`,
        body,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toMatch(/\r\n\r\nDiscarded=too_large$/);
      expect(answer).not.toMatch(/connection: close/i);
    });

    test('a too large body from a client that asked to close: Connection: close', async () => {
      const h = await harness();
      const answer = await rawExchange(
        h,
        `POST /submit HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${2 << 20}\r\n\r\n`,
        Buffer.from('--'),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toMatch(/connection: close/i);
      expect(answer).toMatch(/Discarded=too_large/);
    });

    test('an HTTP/1.0 client without keep-alive: Connection: close', async () => {
      const h = await harness();
      const answer = await rawExchange(h, `POST /submit HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n`, Buffer.from('--'));
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/connection: close/i);
      expect(answer).toMatch(/Discarded=malformed_wrong_content_type$/);
    });

    test('an HTTP/1.0 client asking for keep-alive keeps its connection', async () => {
      const h = await harness();
      const answer = await rawExchange(
        h,
        `POST /submit HTTP/1.0\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n--`,
        Buffer.alloc(0),
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toMatch(/connection: keep-alive/i);
    });

    test('a body that stops arriving: 408 Discarded=timeout and the connection closes', async () => {
      const h = await harness({ limits: { bodyTimeoutMs: 300 }, rejectLingerMs: 300 });
      const body = multipartBody(basicParts, B);
      const answer = await rawExchange(
        h,
        `POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${body.length + 100}\r\n\r\n`,
        body,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/connection: close/i);
      expect(answer).toMatch(/Discarded=timeout/);
      expect(named(h, 'collector.breakpad_resource.malformed')).toEqual([{ type: 'c', value: 1, tags: ['reason:timeout'] }]);
    });
  });

  describe('gzip bodies', () => {
    test('inflated and stored, with the compressed metrics', async () => {
      const h = await harness();
      const body = gzipSync(multipartBody(basicParts, B));
      const a = await post(h, body, { 'content-encoding': 'gzip' });
      expect(a.status).toBe(200);
      expect(h.crashes[0]!.rawCrash.metadata!.payload_compressed).toBe('1');
      expect(h.crashes[0]!.rawCrash.metadata!.payload_size).toBe(body.length);
      expect(toBuffer(h.crashes[0]!.dumps.get('upload_file_minidump')!)).toEqual(dump);
      expect(named(h, 'collector.breakpad_resource.gzipped_crash')).toEqual([{ type: 'c', value: 1, tags: undefined }]);
      const decompress = named(h, 'collector.breakpad_resource.gzipped_crash_decompress');
      expect(decompress).toHaveLength(1);
      expect(decompress[0]!.tags).toEqual(['result:success']);
      expect(named(h, 'collector.breakpad_resource.crash_size')).toEqual([{ type: 'h', value: body.length, tags: ['payload:compressed'] }]);
    });

    test('not gzip after all: 400 Discarded=malformed_bad_gzip and a failed decompress', async () => {
      const h = await harness();
      const a = await post(h, multipartBody(basicParts, B), { 'content-encoding': 'gzip' });
      expect(a).toMatchObject({ status: 400, body: 'Discarded=malformed_bad_gzip' });
      expect(named(h, 'collector.breakpad_resource.gzipped_crash_decompress')).toEqual([{ type: 'h', value: 0, tags: ['result:fail'] }]);
    });

    test('an uncompressed body that fails: no decompress metric', async () => {
      const h = await harness();
      const a = await post(h, Buffer.from('garbage without any boundary'));
      expect(a.status).toBe(400);
      expect(named(h, 'collector.breakpad_resource.gzipped_crash_decompress')).toEqual([]);
    });
  });

  test('a client that goes away mid-body gets no answer and holds no memory', async () => {
    const h = await harness();
    const body = multipartBody(basicParts, B);
    await new Promise<void>((resolve) => {
      const socket = connect(h.url.port, '127.0.0.1', () => {
        socket.write(`POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${body.length * 2}\r\n\r\n`);
        socket.write(body.subarray(0, 20), () => setTimeout(() => socket.destroy(), 100));
      });
      socket.on('close', () => resolve());
    });
    const deadline = Date.now() + 5000;
    while (!h.logs.includes('debug client aborted its crash upload') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(h.logs).toContain('debug client aborted its crash upload');
    expect(h.crashes).toEqual([]);
    expect(h.errors).toEqual([]);
    expect(h.budget.inUse).toBe(0);
  });

  describe('the memory of a crash body', () => {
    /** Node 22+ (engines) frees at once; on an older Node, the GC does, as before. */
    const CAN_FREE = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
    const big = Buffer.alloc(300_000, 0x5a);
    const parts: Part[] = [
      { name: 'ProductName', data: 'Firefox' },
      { name: 'upload_file_minidump', data: big, filename: 'x.dmp', contentType: 'application/octet-stream' },
    ];
    const settled = () => new Promise((r) => setTimeout(r, 20));

    test('is freed once the sink says it is done with the bytes, plain or gzip', async () => {
      const h = await harness({ doneWithBytes: true });
      const body = multipartBody(parts, B);
      for (const wire of [body, gzipSync(body)]) {
        const a = await post(h, wire, wire === body ? {} : { 'content-encoding': 'gzip' });
        expect(a.status).toBe(200);
        await settled();
        const dump = h.crashes.at(-1)!.dumps.get('upload_file_minidump')!;
        // Freed memory reads as empty; a leading piece under 8 KiB may be left to the GC.
        if (CAN_FREE) expect(byteLength(dump)).toBeLessThan(8192);
        else expect(toBuffer(dump).equals(big)).toBe(true);
      }
    });

    test('is left intact while the sink keeps the crash (it never said it was done), whatever the answer', async () => {
      for (const outcome of ['saved', 'failed'] as const) {
        const h = await harness({ outcome });
        await post(h, multipartBody(parts, B));
        await settled();
        expect(toBuffer(h.crashes.at(-1)!.dumps.get('upload_file_minidump')!).equals(big)).toBe(true);
      }
    });
  });
});

/** Writes `head` then `body` on a raw socket and returns everything read until the server closes or 0.5 s pass quietly. */
function rawExchange(h: Harness, head: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const socket = connect(h.url.port, '127.0.0.1', () => {
      socket.write(head);
      if (body.length) socket.write(body);
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      clearTimeout(quiet);
      quiet = setTimeout(finish, 500);
    });
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
    socket.on('end', finish);
  });
}
