/** The canary's pure parts and its run loop with injected storage, queue and submitter. */
import { createHash } from 'node:crypto';
import { parseArgs, parseDuration, parseRate, UsageError, type CanaryOptions } from '../../src/tools/canary/args';
import { buildCrash, verifyStored, type CanaryCrash } from '../../src/tools/canary/crash';
import { noCanaryMetrics } from '../../src/tools/canary/metrics';
import type { QueueWatcher } from '../../src/tools/canary/queue-watcher';
import { promText } from '../../src/tools/canary/report';
import { runCanary } from '../../src/tools/canary/run';
import { percentile, summarize } from '../../src/tools/canary/stats';
import { createCrashId } from '../../src/shared/crash-id';
import { dumpKey, dumpNamesKey, rawCrashKey, sortedJson } from '../../src/worker/storage/crash-objects';

describe('arguments', () => {
  test('rates, durations and the planned count', () => {
    expect(parseRate('2/s')).toBe(2);
    expect(parseRate('30/m')).toBe(0.5);
    expect(parseRate('3')).toBe(3);
    expect(parseDuration('--duration', '10m')).toBe(600_000);
    expect(parseDuration('--duration', '1.5s')).toBe(1500);
    expect(parseDuration('--duration', '250ms')).toBe(250);
    expect(() => parseRate('fast')).toThrow(UsageError);
    expect(() => parseRate('51/s')).toThrow(/limit of 50\/s/);
    expect(() => parseDuration('--timeout', '0s')).toThrow(/more than 0/);
  });

  test('--url is required, its bare root means /submit, and the total is capped', () => {
    expect(() => parseArgs([])).toThrow(/--url is required/);
    const o = parseArgs(['--url', 'https://crash.example.com', '--rate', '2/s', '--duration', '10m']) as CanaryOptions;
    expect(o.url.href).toBe('https://crash.example.com/submit');
    expect(o.rate).toBe(2);
    expect(o.durationMs).toBe(600_000);
    expect(() => parseArgs(['--url', 'http://x', '--rate', '20/s', '--duration', '1h'])).toThrow(/72000 crashes, more than --max-requests 10000/);
    expect(parseArgs(['--url', 'http://x', '--rate', '20/s', '--duration', '1h', '--max-requests', '72000'])).toMatchObject({ maxRequests: 72000 });
    expect(() => parseArgs(['--url', 'ftp://x'])).toThrow(/http:\/\/ or https:\/\//);
    expect(() => parseArgs(['--url', 'http://x', '--duration', '25h'])).toThrow(/24h/);
    expect(() => parseArgs(['--url', 'http://x', '--subscription', 's', '--sqs-queue', 'q'])).toThrow(/not both/);
    expect(parseArgs(['--url', 'http://x', '--statsd', 'statsd.local:8125', '--min-success', '99.5%', '--no-queue-check'])).toMatchObject({
      statsd: { host: 'statsd.local', port: 8125 },
      minSuccess: 99.5,
      queueCheck: false,
    });
  });
  test('every option sets its field; a missing value, an unknown option or a bad one is a usage error naming it', () => {
    const o = parseArgs([
      '--url',
      'http://x/submit',
      '--rate',
      '30/m',
      '--duration',
      '2m',
      '--max-requests',
      '500',
      '--timeout',
      '5s',
      '--submit-timeout',
      '2500ms',
      '--max-in-flight',
      '7',
      '--interval',
      '1m',
      '--product',
      'P',
      '--annotation',
      'A=b=c',
      '--annotation',
      'Throttleable=0',
      '--dump-size',
      '100',
      '--sqs-queue',
      'q',
      '--prom-file',
      '/tmp/p.prom',
      '--insecure',
    ]) as CanaryOptions;
    expect(o).toEqual({
      url: new URL('http://x/submit'),
      rate: 0.5,
      durationMs: 120_000,
      maxRequests: 500,
      timeoutMs: 5000,
      submitTimeoutMs: 2500,
      maxInFlight: 7,
      intervalMs: 60_000,
      product: 'P',
      annotations: { A: 'b=c', Throttleable: '0' },
      dumpSize: 100,
      sqsQueue: 'q',
      queueCheck: true,
      promFile: '/tmp/p.prom',
      minSuccess: 100,
      insecure: true,
    });
    expect(parseArgs(['--url', 'http://x', '--help'])).toBe('help');
    expect(parseArgs(['-h'])).toBe('help');
    expect(() => parseArgs(['--bogus', '--help'])).toThrow(/unknown option --bogus/);
    expect(() => parseArgs(['constructor'])).toThrow(/unknown option constructor/);
    expect(() => parseArgs(['--url', 'http://x', '--timeout'])).toThrow(/--timeout expects a duration/);
    expect(() => parseArgs(['--url', 'http://x', '--annotation', '=v'])).toThrow(/--annotation expects NAME=VALUE/);
    expect(() => parseArgs(['--url', 'http://x', '--max-in-flight', '1001'])).toThrow(/--max-in-flight expects a whole number from 1 to 1000/);
    expect(() => parseArgs(['--url', 'http://x', '--min-success', '101'])).toThrow(/--min-success expects a percentage/);
    expect(() => parseArgs(['--url', 'http://x', '--statsd', 'nohost'])).toThrow(/--statsd expects HOST:PORT/);
    expect(() => parseArgs(['--url', 'http://x', '--cacert', '/nonexistent/ca.pem'])).toThrow(/cannot read --cacert \/nonexistent\/ca.pem/);
  });
});

describe('stored crash verification', () => {
  const stored = (crash: CanaryCrash, change: (raw: Record<string, unknown>) => void = () => {}) => {
    const raw: Record<string, unknown> = { ...crash.annotations, metadata: { dump_checksums: { upload_file_minidump: crash.dumpSha256 } } };
    change(raw);
    return { rawCrash: Buffer.from(JSON.stringify(raw)), dump: crash.dump, dumpNames: Buffer.from('["upload_file_minidump"]') };
  };
  const crash = buildCrash({ runId: 'run1', seq: 3, product: 'AntennaCanary', dumpSize: 100 });

  test('the synthetic crash carries the marker, run and sequence, and a dump of the asked size with its sha256', () => {
    expect(crash.annotations).toMatchObject({ ProductName: 'AntennaCanary', AntennaCanary: '1', AntennaCanaryRun: 'run1', AntennaCanarySeq: '3' });
    expect(crash.dump).toHaveLength(100);
    expect(crash.dump.subarray(0, 4).toString()).toBe('MDMP');
    expect(crash.dumpSha256).toBe(createHash('sha256').update(crash.dump).digest('hex'));
  });

  test('the crash as sent passes; each difference is named', () => {
    expect(verifyStored(crash, stored(crash))).toBeUndefined();
    expect(
      verifyStored(
        crash,
        stored(crash, (r) => (r.AntennaCanaryRun = 'other')),
      ),
    ).toMatch(/lacks this run/);
    expect(
      verifyStored(
        crash,
        stored(crash, (r) => (r.metadata = { dump_checksums: { upload_file_minidump: 'ab' } })),
      ),
    ).toMatch(/dump_checksums/);
    const flipped = Buffer.from(crash.dump);
    flipped[50] ^= 1;
    expect(verifyStored(crash, { ...stored(crash), dump: flipped })).toMatch(/dump bytes differ/);
    expect(verifyStored(crash, { ...stored(crash), dump: undefined })).toBe('dump missing');
    expect(verifyStored(crash, { ...stored(crash), dumpNames: Buffer.from('[]') })).toMatch(/dump_names/);
    expect(verifyStored(crash, { ...stored(crash), rawCrash: Buffer.from('{') })).toBe('raw crash is not JSON');
  });
});

describe('tally', () => {
  test('nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  test('the success rate counts skipped ticks and every failing stage; pending crashes are left out', () => {
    const s = summarize(
      [
        { seq: 1, crashId: 'a', ackMs: 10, storedMs: 12, queuedMs: 20 },
        { seq: 2, failed: 'submit', detail: 'HTTP 500' },
        { seq: 3, crashId: 'c', ackMs: 10, storedMs: 11, failed: 'content', detail: 'dump bytes differ' },
        { seq: 4, crashId: 'd', ackMs: 10, failed: 'storage' },
      ],
      { sent: 5, skipped: 1 },
    );
    expect(s).toMatchObject({ planned: 6, sent: 5, acknowledged: 3, stored: 1, published: 1, succeeded: 1, failed: 4, pending: 1 });
    expect(s.failures).toEqual({ skipped: 1, submit: 1, storage: 1, content: 1, queue: 0 });
    expect(s.successRate).toBeCloseTo(20);
  });
});

describe('runCanary with injected backends', () => {
  const opts = (over: Partial<CanaryOptions> = {}): CanaryOptions => ({
    ...(parseArgs(['--url', 'http://collector.test/submit', '--rate', '50/s', '--duration', '100ms', '--timeout', '2s', '--interval', '1h']) as CanaryOptions),
    ...over,
  });

  /** A collector in memory: stores what it accepts (raw crash last) and publishes the id, optionally before answering. */
  function memoryCollector(o: { publishFirst?: boolean; publish?: boolean } = {}) {
    const objects = new Map<string, Buffer>();
    let onId: (id: string) => void = () => {};
    const queue: QueueWatcher = {
      describe: 'memory queue',
      start: async (cb) => {
        onId = cb;
      },
      lastError: () => undefined,
      close: async () => {},
    };
    const submit = async (crash: CanaryCrash) => {
      const id = createCrashId(new Date(), 0);
      objects.set(dumpKey(id, 'upload_file_minidump', 'upload_file_minidump'), crash.dump);
      objects.set(dumpNamesKey(id), Buffer.from('["upload_file_minidump"]'));
      objects.set(rawCrashKey(id), Buffer.from(sortedJson({ ...crash.annotations, metadata: { dump_checksums: { upload_file_minidump: crash.dumpSha256 } } })));
      if (o.publish !== false && o.publishFirst) onId(id);
      if (o.publish !== false && !o.publishFirst) setTimeout(() => onId(id), 5);
      return { ok: true as const, crashId: id };
    };
    const storage = { describe: 'memory storage', get: async (k: string) => objects.get(k), close: async () => {} };
    return { queue, submit, storage };
  }
  const base = { runId: 'r', dumpField: 'upload_file_minidump', metrics: noCanaryMetrics, out: () => {} };

  test('ids published before the answer arrives still count as seen on the queue', async () => {
    const c = memoryCollector({ publishFirst: true });
    const r = await runCanary(opts(), { ...base, ...c });
    expect(r.summary).toMatchObject({ sent: 5, succeeded: 5, published: 5, successRate: 100 });
    expect(r.passed).toBe(true);
  });

  test('an id that never reaches the queue fails the queue stage', async () => {
    const c = memoryCollector({ publish: false });
    const r = await runCanary(opts({ timeoutMs: 200 }), { ...base, ...c });
    expect(r.summary.failures.queue).toBe(5);
    expect(r.passed).toBe(false);
    expect(r.report).toContain('id not seen on memory queue within 0.2 s');
  });

  test('ticks that find --max-in-flight submissions still running are skipped and counted as failed', async () => {
    const c = memoryCollector();
    const slow = async (crash: CanaryCrash) => {
      await new Promise((r) => setTimeout(r, 300));
      return c.submit(crash);
    };
    const r = await runCanary(opts({ maxInFlight: 2 }), { ...base, ...c, submit: slow });
    expect(r.summary).toMatchObject({ planned: 5, sent: 2, succeeded: 2 });
    expect(r.summary.failures.skipped).toBe(3);
    expect(r.summary.successRate).toBe(40);
  });

  test('an abort stops sending; the crashes already sent are followed and reported', async () => {
    const c = memoryCollector();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 150);
    const r = await runCanary(opts({ rate: 10, durationMs: 60_000 }), { ...base, ...c, signal: stop.signal });
    expect(r.summary.sent).toBeGreaterThanOrEqual(1);
    expect(r.summary.sent).toBeLessThan(600);
    expect(r.summary).toMatchObject({ pending: 0, successRate: 100 });
    expect(r.summary.succeeded).toBe(r.summary.sent);
  });

  test('the Prometheus text names every stage and has a summary per latency path', async () => {
    const c = memoryCollector();
    const r = await runCanary(opts(), { ...base, ...c });
    const text = promText(
      { runId: 'r', url: 'http://c/submit', rate: 1, planned: 5, durationMs: 1, storage: '', queue: '', queueCheck: true, minSuccess: 100 },
      r.summary,
      { finished: true, nowMs: 0 },
    );
    for (const stage of ['skipped', 'submit', 'storage', 'content', 'queue'])
      expect(text).toContain(`antenna_canary_failures{target="http://c/submit",stage="${stage}"} 0`);
    expect(text).toContain('# TYPE antenna_canary_latency_seconds summary');
    expect(text).toMatch(/^antenna_canary_latency_seconds_count\{target="http:\/\/c\/submit",to="published"\} 5$/m);
  });
});
