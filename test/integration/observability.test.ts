import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { crashBody, crashIdFrom, crashParts, fakeDump } from '../support/crashes';
import { get, post } from '../support/http';
import { METRICS_BY_NAME } from '../../src/shared/metrics/catalog';
import { breakFsStorage as breakStorage, startServer, tempDir, type RunningServer } from '../support/server';
import { statsdCount as total } from '../support/recording';
import { waitFor } from '../support/wait';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(server: RunningServer, annotations: Record<string, string>, gzip = false) {
  const { body, contentType } = crashBody(crashParts(annotations, { upload_file_minidump: fakeDump(3000) }));
  const sent = gzip ? gzipSync(body) : body;
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': sent.length };
  if (gzip) headers['Content-Encoding'] = 'gzip';
  return post(`${server.url}/submit`, { headers, body: sent });
}

/**
 * SPEC §5: the StatsD metrics of Antenna's dashboards, with their exact type
 * and DogStatsD tag keys (besides `host`). Written out here, not taken from
 * the catalog, so that a rename in the code and the catalog together still
 * fails.
 */
const ANTENNA_STATSD: Record<string, { type: 'c' | 'g' | 'ms' | 'h'; tags: string[] }> = {
  'collector.breakpad_resource.gzipped_crash': { type: 'c', tags: [] },
  'collector.breakpad_resource.gzipped_crash_decompress': { type: 'h', tags: ['result'] },
  'collector.breakpad_resource.crash_size': { type: 'h', tags: ['payload'] },
  'collector.breakpad_resource.on_post.time': { type: 'ms', tags: [] },
  'collector.breakpad_resource.malformed': { type: 'c', tags: ['reason'] },
  'collector.breakpad_resource.incoming_crash': { type: 'c', tags: [] },
  'collector.breakpad_resource.throttle_rule': { type: 'c', tags: ['rule'] },
  'collector.breakpad_resource.throttle': { type: 'c', tags: ['result'] },
  'collector.breakpad_resource.unauthorized_uuid': { type: 'c', tags: [] },
  'collector.crashmover.retry_count': { type: 'c', tags: ['count'] },
  'collector.crashmover.crash_handling.time': { type: 'ms', tags: [] },
  'collector.crashmover.save_crash_dropped.count': { type: 'c', tags: [] },
  'collector.crashmover.save_crash.count': { type: 'c', tags: [] },
  'collector.crashmover.publish_crash_dropped.count': { type: 'c', tags: [] },
  'collector.crashmover.crash_save.time': { type: 'ms', tags: [] },
  'collector.crashmover.crash_publish.time': { type: 'ms', tags: [] },
  'collector.crashmover.save_queue_size': { type: 'g', tags: [] },
  'collector.health.broken.count': { type: 'c', tags: [] },
  'collector.health.version.count': { type: 'c', tags: [] },
  'collector.health.lbheartbeat.count': { type: 'c', tags: [] },
  'collector.health.heartbeat.count': { type: 'c', tags: [] },
};
/** Sent only when publishing fails for good, which the noop publisher of this run never does (test/worker/crashmover covers it). */
const NOT_IN_THIS_RUN = ['collector.crashmover.publish_crash_dropped.count'];
const STATSD_TYPE = { incr: 'c', gauge: 'g', timing: 'ms', histogram: 'h' } as const;

describe('StatsD', () => {
  let udp: dgram.Socket;
  /** Every metric line, with the UDP source port of its packet: one port per process. */
  const received: Array<{ line: string; port: number }> = [];
  const lines: string[] = [];
  let server: RunningServer;

  beforeAll(async () => {
    udp = dgram.createSocket('udp4');
    udp.on('message', (m, rinfo) => {
      for (const line of m.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        received.push({ line, port: rinfo.port });
      }
    });
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const rules = path.join(tempDir(), 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify([
        { name: 'reject_this', key: 'ProductName', equals: 'Reject', result: 'REJECT' },
        { name: 'keep', key: '*', result: 'ACCEPT' },
      ]),
    );
    server = await startServer({
      STATSD_HOST: '127.0.0.1',
      STATSD_PORT: String((udp.address() as AddressInfo).port),
      HOSTNAME: 'collector-7',
      HEARTBEAT_INTERVAL: '200',
      BROKEN_ENDPOINT_ENABLED: '1',
      BREAKPAD_THROTTLER_RULES: rules,
      CRASHMOVER_MAX_ATTEMPTS: '3',
      CRASHMOVER_RETRY_SLEEP_SECONDS: '0.1',
      HEALTH_CHECK_INTERVAL: '1',
    });
  });
  afterAll(async () => {
    await server?.stop();
    udp.close();
  });

  /** Waits until a packet matches `re`; returns every match. */
  async function packets(re: RegExp): Promise<string[]> {
    for (let i = 0; i < 50; i++) {
      const found = lines.filter((l) => re.test(l));
      if (found.length) return found;
      await sleep(100);
    }
    throw new Error(`no StatsD packet matching ${re}; got:\n${[...new Set(lines)].join('\n')}`);
  }

  it('an accepted crash: Antenna’s names, types and tags, each with host:<HOSTNAME>', async () => {
    crashIdFrom((await submit(server, { ProductName: 'Test' })).text);
    const P = 'socorro.collector.';
    await packets(/^socorro\.collector\.breakpad_resource\.incoming_crash:1\|c\|#host:collector-7$/);
    await packets(/^socorro\.collector\.breakpad_resource\.crash_size:\d+\|h\|#host:collector-7,payload:uncompressed$/);
    await packets(/^socorro\.collector\.breakpad_resource\.throttle_rule:1\|c\|#host:collector-7,rule:keep$/);
    // Exactly Antenna's tags: the rule label kept for Prometheus is not sent to StatsD.
    await packets(/^socorro\.collector\.breakpad_resource\.throttle:1\|c\|#host:collector-7,result:accept$/);
    await packets(/^socorro\.collector\.breakpad_resource\.on_post\.time:[\d.]+\|ms\|#host:collector-7$/);
    await packets(/^socorro\.collector\.crashmover\.crash_save\.time:[\d.]+\|ms\|#host:collector-7$/);
    await packets(/^socorro\.collector\.crashmover\.crash_publish\.time:[\d.]+\|ms\|#host:collector-7$/);
    await packets(/^socorro\.collector\.crashmover\.crash_handling\.time:[\d.]+\|ms\|#host:collector-7$/);
    await packets(/^socorro\.collector\.crashmover\.save_crash\.count:1\|c\|#host:collector-7$/);
    expect(lines.every((l) => l.startsWith('socorro.') && /[|#,]host:collector-7(,|$)/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith(P + 'breakpad_resource.throttle:')).every((l) => !l.includes('rule:'))).toBe(true);
  });

  it('a gzip crash, a malformed post, a throttled crash, a uuid without the token, and every health endpoint', async () => {
    expect((await submit(server, { ProductName: 'Test' }, true)).status).toBe(200);
    await packets(/^socorro\.collector\.breakpad_resource\.gzipped_crash:1\|c\|#host:collector-7$/);
    await packets(/^socorro\.collector\.breakpad_resource\.gzipped_crash_decompress:[\d.]+\|h\|#host:collector-7,result:success$/);
    await packets(/^socorro\.collector\.breakpad_resource\.crash_size:\d+\|h\|#host:collector-7,payload:compressed$/);

    const bad = await post(`${server.url}/submit`, { headers: { 'Content-Type': 'text/plain', 'Content-Length': 1 }, body: Buffer.from('x') });
    expect(bad.status).toBe(400);
    await packets(/^socorro\.collector\.breakpad_resource\.malformed:1\|c\|#host:collector-7,reason:wrong_content_type$/);

    expect((await submit(server, { ProductName: 'Reject' })).text).toBe('Discarded=rule_reject_this');
    await packets(/^socorro\.collector\.breakpad_resource\.throttle:1\|c\|#host:collector-7,result:reject$/);
    await packets(/^socorro\.collector\.breakpad_resource\.throttle_rule:1\|c\|#host:collector-7,rule:reject_this$/);

    expect((await submit(server, { ProductName: 'Test', uuid: 'de1bb258-cbbf-4589-a673-34f800160918' })).status).toBe(401);
    await packets(/^socorro\.collector\.breakpad_resource\.unauthorized_uuid:1\|c\|#host:collector-7$/);

    expect((await get(`${server.url}/__broken__`)).status).toBe(500);
    await packets(/^socorro\.collector\.health\.broken\.count:1\|c\|#host:collector-7$/);
    for (const endpoint of ['lbheartbeat', 'heartbeat', 'version']) {
      expect((await get(`${server.url}/__${endpoint}__`)).status).toBe(200);
      await packets(new RegExp(`^socorro\\.collector\\.health\\.${endpoint}\\.count:1\\|c\\|#host:collector-7$`));
    }
  });

  it('the primary sends the fleet’s save_queue_size gauge; workers, which handled every crash, never send their own', async () => {
    await packets(/^socorro\.collector\.crashmover\.save_queue_size:0\|g\|#host:collector-7$/);
    const GAUGE = 'socorro.collector.crashmover.save_queue_size:';
    const gaugePorts = new Set(received.filter((r) => r.line.startsWith(GAUGE)).map((r) => r.port));
    // A crash or a health request is counted by the worker that answered it.
    const workerPorts = new Set(received.filter((r) => /^socorro\.collector\.(breakpad_resource|health)\./.test(r.line)).map((r) => r.port));
    expect(gaugePorts.size).toBe(1);
    const [primaryPort] = gaugePorts;
    expect(workerPorts.has(primaryPort!)).toBe(false);
    // Each heartbeat, not once: the primary keeps sending it.
    await waitFor('a few heartbeats of the gauge', () => received.filter((r) => r.port === primaryPort && r.line.startsWith(GAUGE)).length >= 3, 10_000);
    expect(received.filter((r) => workerPorts.has(r.port) && r.line.includes('save_queue_size'))).toEqual([]);
  });

  it('saves that fail: each retry with its tag, the drop counted once, the refusals that follow', async () => {
    breakStorage(server.fsRoot);
    const failed = await submit(server, { ProductName: 'Test' });
    expect(failed.status).toBe(500);
    // CRASHMOVER_MAX_ATTEMPTS=3: two retries, then dropped.
    await packets(/^socorro\.collector\.crashmover\.save_crash_dropped\.count:1\|c\|#host:collector-7$/);
    // Two retries: summed into one line when they fall in one aggregation interval.
    await waitFor('both retries counted', () => total(lines, 'collector.crashmover.retry_count') === 2, 5000);
    const retries = lines.filter((l) => l.startsWith('socorro.collector.crashmover.retry_count:'));
    expect(
      retries.filter((l) => !/^socorro\.collector\.crashmover\.retry_count:[12]\|c\|#host:collector-7,count:save_crash_exception\.count$/.test(l)),
    ).toEqual([]);
    expect(lines.filter((l) => l.startsWith('socorro.collector.crashmover.save_crash_dropped.count:'))).toHaveLength(1);
    await packets(/^socorro\.collector\.crashmover\.save_failure\.count:1\|c\|#host:collector-7,kind:transient,reason:\w+$/);
    rmSync(path.join(server.fsRoot, 'v1'), { force: true });
    await waitFor('crashes accepted again', async () => (await submit(server, { ProductName: 'Test' })).status === 200, 20_000, 300);
  });

  it('every line: a name of SPEC §5 (or of the catalog) with its exact type and tag keys, host first; every SPEC metric seen', async () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const line of new Set(lines)) {
      const m = /^socorro\.([\w.]+):[\d.]+\|(c|g|ms|h)\|#host:collector-7((?:,[\w]+:[^,]+)*)$/.exec(line);
      if (!m) {
        problems.push(`malformed: ${line}`);
        continue;
      }
      const [, name, type, tagText] = m as unknown as [string, string, string, string];
      const keys = tagText
        .split(',')
        .filter(Boolean)
        .map((t) => t.slice(0, t.indexOf(':')));
      const catalog = METRICS_BY_NAME.get(name);
      const want = ANTENNA_STATSD[name] ?? (catalog && { type: STATSD_TYPE[catalog.type], tags: catalog.tags });
      if (!want) problems.push(`not Antenna's nor in the catalog: ${line}`);
      else if (type !== want.type || keys.join(',') !== want.tags.join(',')) problems.push(`want |${want.type}| with tags [${want.tags}]: ${line}`);
      seen.add(name);
    }
    expect(problems).toEqual([]);
    expect(Object.keys(ANTENNA_STATSD).filter((n) => !seen.has(n))).toEqual(NOT_IN_THIS_RUN);
  });
});

describe('StatsD counters: STATSD_AGGREGATION_INTERVAL_MS', () => {
  /** Posts five crashes to a one-worker node and returns every StatsD line it sent until it stopped. */
  async function linesForFiveCrashes(env: Record<string, string>): Promise<string[]> {
    const udp = dgram.createSocket('udp4');
    const got: string[] = [];
    udp.on('message', (m) => got.push(...m.toString().split('\n').filter(Boolean)));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const server = await startServer({
      WORKERS: '1',
      STATSD_HOST: '127.0.0.1',
      STATSD_PORT: String((udp.address() as AddressInfo).port),
      HOSTNAME: 'c-1',
      ...env,
    });
    try {
      for (let i = 0; i < 5; i++) expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
    } finally {
      await server.stop(); // a process that stops sends what it still holds
    }
    await sleep(200);
    udp.close();
    return got;
  }

  it('a process sums a counter over the interval (1000 ms by default): one line, the same total, none lost at shutdown', async () => {
    const got = await linesForFiveCrashes({ STATSD_AGGREGATION_INTERVAL_MS: '10000' });
    const incoming = got.filter((l) => l.startsWith('socorro.collector.breakpad_resource.incoming_crash:'));
    expect(incoming).toEqual(['socorro.collector.breakpad_resource.incoming_crash:5|c|#host:c-1']);
    expect(total(got, 'collector.crashmover.save_crash.count')).toBe(5);
    // Timings are never summed: one line per crash.
    expect(got.filter((l) => l.startsWith('socorro.collector.breakpad_resource.on_post.time:'))).toHaveLength(5);
  });

  it('0 sends one line per counter call, as Antenna does', async () => {
    const got = await linesForFiveCrashes({ STATSD_AGGREGATION_INTERVAL_MS: '0' });
    expect(got.filter((l) => l.startsWith('socorro.collector.breakpad_resource.incoming_crash:'))).toEqual(
      Array(5).fill('socorro.collector.breakpad_resource.incoming_crash:1|c|#host:c-1'),
    );
    expect(got.filter((l) => l.startsWith('socorro.collector.breakpad_resource.on_post.time:'))).toHaveLength(5);
  });
});

describe('StatsD unreachable', () => {
  it('a send error on every packet is logged once per process, not once per packet', async () => {
    // The broadcast address: every send fails at once with EACCES (no SO_BROADCAST), nothing leaves the machine.
    const server = await startServer({ STATSD_HOST: '255.255.255.255', STATSD_PORT: '8125', HEARTBEAT_INTERVAL: '100' });
    try {
      const warnings = () =>
        server.logs.filter((l) => /cannot send metrics to StatsD at 255\.255\.255\.255:8125 \(STATSD_HOST\/STATSD_PORT\): .*EACCES/.test(l.raw));
      for (let i = 0; i < 6; i++) {
        expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
        await sleep(250); // past the flush interval: one packet, one failed send, each time
      }
      // The primary sends every heartbeat; a worker only once it handled a crash.
      await waitFor('a warning from the primary and a worker', () => new Set(warnings().map((l) => l.Pid)).size >= 2, 20_000);
      for (let i = 0; i < 4; i++) {
        expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
        await sleep(250);
      }
      const perProcess = new Map<number, number>();
      for (const l of warnings()) perProcess.set(l.Pid!, (perProcess.get(l.Pid!) ?? 0) + 1);
      expect(perProcess.get(server.proc.pid!)).toBe(1);
      expect([...perProcess.values()]).toEqual(Array(perProcess.size).fill(1));
    } finally {
      await server.stop();
    }
  });

  it('never affects requests: crashes are still accepted and the send error is logged once', async () => {
    // A port nobody listens on: UDP sends succeed locally or fail with ECONNREFUSED, never block.
    const server = await startServer({ STATSD_HOST: 'statsd.invalid', STATSD_PORT: '9' });
    try {
      for (let i = 0; i < 5; i++) expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
      const warnings = () => server.logs.filter((l) => /cannot send metrics to StatsD at statsd\.invalid:9 \(STATSD_HOST\/STATSD_PORT\)/.test(l.raw));
      // The primary and both workers each fail to resolve the host and say so...
      await waitFor('a warning from each process', () => new Set(warnings().map((l) => l.Pid)).size === 3, 20_000);
      for (let i = 0; i < 5; i++) expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
      await sleep(500);
      // ...once: at most one warning per process per minute, however many metrics are dropped.
      expect(warnings()).toHaveLength(3);
    } finally {
      await server.stop();
    }
  });
});

function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

describe('Prometheus /metrics', () => {
  it('aggregates every worker: counters equal the number of posts spread over the workers', async () => {
    const server = await startServer({ WORKERS: '2', HEARTBEAT_INTERVAL: '200' });
    try {
      const N = 12;
      for (let i = 0; i < N; i++) expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
      await post(`${server.url}/submit`, { headers: { 'Content-Type': 'text/plain', 'Content-Length': 1 }, body: Buffer.from('x') });
      const handledBy = new Set(server.logs.filter((l) => l.Type === 'antenna.access' && l.Fields?.path === '/submit').map((l) => l.Pid));
      expect(handledBy.size).toBe(2);

      // Any worker answers for the whole node.
      for (let scrape = 0; scrape < 4; scrape++) {
        const res = await get(`${server.url}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
        const m = parseProm(res.text);
        expect(m.get('antenna_crashes_received_total')).toBe(N);
        expect(m.get('antenna_crashes_saved_total{published="true"}')).toBe(N);
        expect(m.get('antenna_throttle_total{result="accept",rule="accept_everything"}')).toBe(N);
        expect(m.get('antenna_malformed_total{reason="wrong_content_type"}')).toBe(1);
        expect(m.get('antenna_save_seconds_count')).toBe(N);
        expect(m.get('antenna_publish_seconds_count')).toBe(N);
        expect(m.get('antenna_crash_size_bytes_count{payload="uncompressed"}')).toBe(N);
        expect(m.get('antenna_save_queue_size')).toBe(0);
        // Every crash was answered, and so saved: nothing is in flight any more.
        expect(m.get('antenna_in_flight')).toBe(0);
        expect(m.get('antenna_worker_restarts_total')).toBe(0);
        expect([...m.keys()].filter((k) => k.startsWith('antenna_event_loop_lag_seconds{')).length).toBe(2);
        expect(m.has('process_resident_memory_bytes')).toBe(true);
      }

      const pid = [...handledBy][0]!;
      process.kill(pid, 'SIGKILL');
      await server.waitForLog(new RegExp(`replaced worker ${pid}`));
      await server.waitForLog(/listening on/);
      let restarts: number | undefined;
      for (let i = 0; i < 30 && restarts !== 1; i++) {
        restarts = parseProm((await get(`${server.url}/metrics`)).text).get('antenna_worker_restarts_total');
        if (restarts !== 1) await sleep(100);
      }
      expect(restarts).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('METRICS_ENABLED=0 turns /metrics off', async () => {
    const server = await startServer({ WORKERS: '1', METRICS_ENABLED: '0' });
    try {
      expect((await get(`${server.url}/metrics`)).status).toBe(404);
      expect((await submit(server, { ProductName: 'Test' })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('Sentry', () => {
  it('/__broken__ sends exactly one event, with release and host, and only the allowlisted headers', async () => {
    const envelopes: string[] = [];
    const fake = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        envelopes.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString());
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const port = (fake.address() as AddressInfo).port;
    const basedir = tempDir();
    writeFileSync(path.join(basedir, 'version.json'), JSON.stringify({ version: '9.8.7', commit: 'abc123' }));
    const server = await startServer({
      WORKERS: '1',
      SECRET_SENTRY_DSN: `http://publickey@127.0.0.1:${port}/42`,
      BROKEN_ENDPOINT_ENABLED: '1',
      APP_BASEDIR: basedir,
      HOSTNAME: 'collector-9',
    });
    try {
      const secrets = {
        'X-Forwarded-For': '203.0.113.77',
        'X-Real-Ip': '203.0.113.78',
        Forwarded: 'for=203.0.113.79;proto=https',
        'True-Client-IP': '203.0.113.80',
        'CF-Connecting-IP': '203.0.113.81',
        'X-Client-IP': '203.0.113.82',
        Authorization: 'Bearer sekrit-token-xyz',
        'Proxy-Authorization': 'Basic proxy-sekrit',
        'X-Api-Key': 'api-key-sekrit',
        Cookie: 'session=cookie-value-abc',
        'X-Whatever-Secret': 'whatever-value-def',
      };
      const res = await get(`${server.url}/__broken__?token=query-sekrit`, { headers: { ...secrets, 'User-Agent': 'probe/1.0' } });
      expect(res.status).toBe(500);
      for (let i = 0; i < 50 && envelopes.length === 0; i++) await sleep(100);
      await sleep(500);
      const events = envelopes.filter((e) => /"type":"event"/.test(e));
      expect(events).toHaveLength(1);
      const event = events[0]!;
      expect(event).toContain('intentional exception from /__broken__');
      expect(event).toContain('"release":"9.8.7"');
      expect(event).toContain('collector-9');
      expect(event).toContain('probe/1.0');
      for (const value of Object.values(secrets)) expect(event).not.toContain(value);
      for (const name of Object.keys(secrets)) expect(event.toLowerCase()).not.toContain(`"${name.toLowerCase()}"`);
      expect(event).not.toContain('sekrit');
      expect(event).not.toContain('203.0.113.');
    } finally {
      await server.stop();
      fake.close();
    }
  });
});

describe('access log', () => {
  it('one line per request with method, path, status, bytes in, duration and user agent; client IP only when enabled', async () => {
    const server = await startServer({ WORKERS: '1' });
    const withIp = await startServer({ WORKERS: '1', ACCESS_LOG_CLIENT_IP: '1' });
    try {
      const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(5000) }));
      await post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length, 'User-Agent': 'Crashpad/1' }, body });
      const line = await server.waitForLog(/^POST \/submit 200$/);
      expect(line.Type).toBe('antenna.access');
      expect(line.Fields).toEqual(expect.objectContaining({ method: 'POST', path: '/submit', status: 200, user_agent: 'Crashpad/1' }));
      expect(line.Fields!.bytes_in as number).toBeGreaterThanOrEqual(body.length);
      expect(typeof line.Fields!.duration_ms).toBe('number');
      expect(line.Fields).not.toHaveProperty('client_ip');
      expect(line.raw).not.toContain('127.0.0.1');

      await get(`${withIp.url}/__lbheartbeat__?x=1`);
      const ipLine = await withIp.waitForLog(/^GET \/__lbheartbeat__ 200$/);
      expect(ipLine.Fields!.client_ip).toMatch(/127\.0\.0\.1/);
      expect(ipLine.raw).not.toContain('x=1');
    } finally {
      await Promise.all([server.stop(), withIp.stop()]);
    }
  });
});
