/**
 * `npm run canary` against real nodes: fs storage (pass, wrong storage root,
 * a throttle rule that rejects the canary), GCS + Pub/Sub (storage and queue,
 * without taking messages from the processors' subscription) and S3 + SQS.
 */
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crashFiles, readStored } from '../support/crashes';
import { startAwsSetup, type CloudSetup } from '../support/cloud-setups';
import { startFakeGcs, type FakeGcs } from '../support/fake-gcs';
import { startFakePubSub, type FakePubSub } from '../support/fake-pubsub';
import { startServer, tempDir, type RunningServer } from '../support/server';
import { waitFor } from '../support/wait';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function canary(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'dist', 'tools', 'canary.js'), ...args],
      { env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A line of the final table, e.g. `stored` → `20`. */
function row(stdout: string, name: string): string | undefined {
  const final = stdout.slice(stdout.lastIndexOf('finished after'));
  return new RegExp(`^  ${name} +(.+?)\\s*$`, 'm').exec(final)?.[1];
}

const FAST = ['--rate', '10/s', '--duration', '2s', '--interval', '1s', '--timeout', '15s'];

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('canary against a node with fs storage', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ WORKERS: '1' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('every crash is answered, stored with its marker and bytes, and reported at 100 %; exit 0', async () => {
    const promFile = path.join(tempDir(), 'canary.prom');
    const r = await canary(['--url', server.url, ...FAST, '--prom-file', promFile], { CRASHMOVER_CRASHSTORAGE_FS_ROOT: server.fsRoot });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Header, a progress line per interval, the final table.
    expect(r.stdout).toMatch(/^canary run [0-9a-f]{12}: 20 crashes at 10\/s over 2 s to http:\/\/127\.0\.0\.1:\d+\/submit\n/);
    expect(r.stdout).toContain('queue:   not checked (CRASHMOVER_CRASHPUBLISH_CLASS=noop publishes nothing)');
    expect(r.stdout).toMatch(/^\[ +1s\] sent \d+ acked \d+ stored \d+ pending \d+ failed 0 success 100\.0 %/m);
    expect(row(r.stdout, 'sent')).toBe('20');
    expect(row(r.stdout, 'acknowledged')).toMatch(/^20 /);
    expect(row(r.stdout, 'stored')).toMatch(/^20 /);
    expect(row(r.stdout, 'failed')).toBe('0');
    expect(row(r.stdout, 'success rate')).toBe('100.0 %   (minimum 100 %): PASS');
    expect(r.stdout).toMatch(/^ {4}visible in storage +\d+ +\d+ +\d+ +\d+$/m);
    expect(r.stdout).toContain('failures by stage: none');

    // The crashes are really there, marked as synthetic.
    const raws = crashFiles(server.fsRoot).filter((f) => f.startsWith('v1/raw_crash/'));
    expect(raws).toHaveLength(20);
    for (const key of raws) expect(JSON.parse(readStored(server.fsRoot, key).toString())).toMatchObject({ ProductName: 'AntennaCanary', AntennaCanary: '1' });

    const prom = readFileSync(promFile, 'utf8');
    expect(prom).toMatch(/^antenna_canary_success_ratio\{target="http:\/\/127\.0\.0\.1:\d+\/submit"\} 1$/m);
    expect(prom).toMatch(/^antenna_canary_crashes\{[^}]*outcome="stored"\} 20$/m);
    expect(prom).toMatch(/^antenna_canary_latency_seconds_count\{[^}]*to="stored"\} 20$/m);
    expect(prom).toMatch(/^antenna_canary_run_finished\{[^}]*\} 1$/m);
    if (hasPromtool()) execFileSync('promtool', ['check', 'metrics'], { input: prom });
    else console.warn('promtool not installed: the textfile format is not checked by promtool');
  });

  test('--statsd sends counters, latencies by path and the final success rate, tagged with the target', async () => {
    const udp = dgram.createSocket('udp4');
    const packets: string[] = [];
    udp.on('message', (m) => packets.push(...m.toString().split('\n')));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    try {
      const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s', '--statsd', `127.0.0.1:${udp.address().port}`], {
        CRASHMOVER_CRASHSTORAGE_FS_ROOT: server.fsRoot,
        STATSD_NAMESPACE: 'acme',
      });
      expect(r.code).toBe(0);
      const target = `target:127.0.0.1:${server.port}`;
      const named = (re: RegExp) => packets.filter((p) => re.test(p) && p.includes(target));
      await waitFor('the final gauge', () => named(/^acme\.canary\.success_rate:/).length > 0, 5000); // datagrams may still be on their way
      expect(named(/^acme\.canary\.sent:1\|c\|#/)).toHaveLength(5);
      expect(named(/^acme\.canary\.stored:1\|c\|#/)).toHaveLength(5);
      expect(named(/^acme\.canary\.latency:\d+(\.\d+)?\|ms\|#.*to:stored/)).toHaveLength(5);
      expect(named(/^acme\.canary\.success_rate:100\|g\|#/)).toHaveLength(1);
      expect(named(/^acme\.canary\.failed:/)).toEqual([]);
    } finally {
      udp.close();
    }
  });

  test('storage read from the wrong root: every crash fails at the storage stage; exit 1', async () => {
    const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s', '--timeout', '1s'], { CRASHMOVER_CRASHSTORAGE_FS_ROOT: tempDir() });
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'acknowledged')).toMatch(/^5 /);
    expect(row(r.stdout, 'stored')).toMatch(/^0 /);
    expect(row(r.stdout, 'success rate')).toBe('0.0 %   (minimum 100 %): FAIL');
    expect(r.stdout).toContain('failures by stage: storage 5');
    expect(r.stdout).toMatch(/#1 [0-9a-f-]{36}: storage: raw crash not in fs storage at .* within 1 s/);
  });

  test('--min-success sets the threshold: 0 % passes a run whose crashes all failed', async () => {
    const env = { CRASHMOVER_CRASHSTORAGE_FS_ROOT: tempDir() };
    const r0 = await canary(['--url', server.url, '--rate', '2/s', '--duration', '1s', '--timeout', '1s', '--min-success', '0'], env);
    expect(r0.code).toBe(0);
    expect(row(r0.stdout, 'success rate')).toBe('0.0 %   (minimum 0 %): PASS');
  });

  test('usage errors exit 2 and name the option', async () => {
    const r = await canary(['--url', server.url, '--rate', '50/s', '--duration', '1h'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is 180000 crashes, more than --max-requests 10000');
    const noUrl = await canary([], {});
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('--url is required');
  });
});

describe('canary against a node whose throttle rules reject the canary product', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ WORKERS: '1', BREAKPAD_THROTTLER_RULES: 'mozilla', BREAKPAD_THROTTLER_PRODUCTS: 'mozilla' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('every crash fails at the submit stage with the rule named; exit 1', async () => {
    const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s'], { CRASHMOVER_CRASHSTORAGE_FS_ROOT: server.fsRoot });
    expect(r.code).toBe(1);
    expect(row(r.stdout, 'acknowledged')).toMatch(/^0 /);
    expect(r.stdout).toContain('failures by stage: submit 5');
    expect(r.stdout).toContain('submit: HTTP 200 Discarded=rule_unsupported_product');
  });

  test('a supported product with Throttleable=0 passes the same rules', async () => {
    const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s', '--product', 'Firefox', '--annotation', 'Throttleable=0'], {
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: server.fsRoot,
    });
    expect(r.code).toBe(0);
    expect(row(r.stdout, 'stored')).toMatch(/^5 /);
  });
});

describe('canary against GCS + Pub/Sub (fakes), spool on', () => {
  const BUCKET = 'canary-crashes';
  const PROJECT = 'canary-project';
  const TOPIC = 'canary-topic';
  let gcs: FakeGcs;
  let pubsub: FakePubSub;
  let server: RunningServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    gcs = await startFakeGcs({ buckets: [BUCKET] });
    pubsub = await startFakePubSub({ topics: [`projects/${PROJECT}/topics/${TOPIC}`] });
    pubsub.createSubscription(PROJECT, 'processors', PROJECT, TOPIC);
    pubsub.createSubscription(PROJECT, 'antenna-canary', PROJECT, TOPIC);
    env = {
      CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs',
      CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: BUCKET,
      STORAGE_EMULATOR_HOST: gcs.url,
      CRASHMOVER_CRASHPUBLISH_CLASS: 'pubsub',
      CRASHMOVER_CRASHPUBLISH_PROJECT_ID: PROJECT,
      CRASHMOVER_CRASHPUBLISH_TOPIC_NAME: TOPIC,
      PUBSUB_EMULATOR_HOST: pubsub.host,
    };
    server = await startServer({ ...env, WORKERS: '1', CRASHMOVER_SPOOL_DIR: path.join(tempDir(), 'spool'), CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '1' });
  });
  afterAll(async () => {
    await server?.stop();
    await gcs?.stop();
    await pubsub?.stop();
  });

  test('100 % stored and seen on the canary subscription; the processors still get every id', async () => {
    const r = await canary(['--url', server.url, ...FAST, '--subscription', 'antenna-canary'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('queue:   Pub/Sub subscription projects/canary-project/subscriptions/antenna-canary');
    expect(row(r.stdout, 'stored')).toMatch(/^20 /);
    expect(row(r.stdout, 'published')).toMatch(/^20 /);
    expect(row(r.stdout, 'success rate')).toBe('100.0 %   (minimum 100 %): PASS');
    expect(r.stdout).toMatch(/^ {4}seen on the queue +\d+ +\d+ +\d+ +\d+$/m);

    // The canary acked its own subscription only: the processors' one still holds every canary crash id.
    const raws = gcs.keys(BUCKET, 'v1/raw_crash/');
    expect(raws).toHaveLength(20);
    const ids = raws.map((k) => k.split('/').pop()!).sort();
    const forProcessors = pubsub.unacked(PROJECT, 'processors').map((m) => m.data.toString());
    expect(ids.every((id) => forProcessors.includes(id))).toBe(true);
    expect(pubsub.unacked(PROJECT, 'antenna-canary').filter((m) => ids.includes(m.data.toString()))).toEqual([]);
  });

  test('publishing down: crashes are answered and stored but not on the queue, so the run fails at the queue stage; exit 1', async () => {
    pubsub.faults.failNext(Number.MAX_SAFE_INTEGER, { method: 'Publish' });
    try {
      // 6 s: the spool moves the crashes into the bucket; a loaded CI machine took over 2 s.
      const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s', '--timeout', '6s', '--subscription', 'antenna-canary'], env);
      expect(r.code).toBe(1);
      expect(row(r.stdout, 'stored')).toMatch(/^5 /);
      expect(row(r.stdout, 'published')).toMatch(/^0 /);
      expect(r.stdout).toContain('failures by stage: queue 5');
      expect(r.stdout).toMatch(/: queue: id not seen on Pub\/Sub subscription projects\/canary-project\/subscriptions\/antenna-canary within 6 s/);
    } finally {
      pubsub.faults.clear();
    }
  });

  test('without --subscription the canary refuses to run and says what to create', async () => {
    const r = await canary(['--url', server.url, '--rate', '1/s', '--duration', '1s'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --subscription NAME');
    expect(r.stderr).toContain('--no-queue-check');
  });

  test('a subscription of another topic is refused', async () => {
    pubsub.createTopic(PROJECT, 'other-topic');
    pubsub.createSubscription(PROJECT, 'elsewhere', PROJECT, 'other-topic');
    const r = await canary(['--url', server.url, '--rate', '1/s', '--duration', '1s', '--subscription', 'elsewhere'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`not the collector's projects/${PROJECT}/topics/${TOPIC}`);
  });
});

describe('canary against S3 + SQS (fakes)', () => {
  let setup: CloudSetup;
  let server: RunningServer;
  beforeAll(async () => {
    setup = await startAwsSetup('canary');
    server = await startServer({ ...setup.env(), WORKERS: '1', CRASHMOVER_SPOOL: 'off' });
  });
  afterAll(async () => {
    await server?.stop();
    await setup?.stop();
  });

  test("100 % with the queue read through --sqs-queue, with a warning that it is the collector's own queue", async () => {
    const env = setup.env();
    const r = await canary(['--url', server.url, ...FAST, '--sqs-queue', env.CRASHMOVER_CRASHPUBLISH_QUEUE_NAME!], {
      ...env,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r.stderr).toContain("is the collector's own queue");
    expect(r.code).toBe(0);
    expect(row(r.stdout, 'stored')).toMatch(/^20 /);
    expect(row(r.stdout, 'published')).toMatch(/^20 /);
  });

  test("without --sqs-queue the canary refuses to read the processors' queue; --no-queue-check checks storage only", async () => {
    const env = { ...setup.env(), AWS_EC2_METADATA_DISABLED: 'true' };
    const refused = await canary(['--url', server.url, '--rate', '1/s', '--duration', '1s'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('which the processors consume');
    const r = await canary(['--url', server.url, '--rate', '5/s', '--duration', '1s', '--no-queue-check'], env);
    expect(r.code).toBe(0);
    expect(row(r.stdout, 'stored')).toMatch(/^5 /);
    expect(row(r.stdout, 'published')).toBe('not checked');
  });
});
