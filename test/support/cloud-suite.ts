/**
 * The server-level tests of a cloud setup (storage + publisher against their
 * fakes, test/support/cloud-setups), shared by the GCS + Pub/Sub and S3 + SQS
 * test files so that jest runs them in parallel.
 */
import path from 'node:path';
import { acknowledged, bucketProblems, failures, heartbeat, postSteadily, queueProblems, submitNumbered, type HeartbeatBody } from './cloud-crashes';
import { rawCrashKey } from './crashes';
import type { CloudSetup } from './cloud-setups';
import { spawnServer, startServer, tempDir, type RunningServer } from './server';
import { sleep, waitFor } from './wait';

/** The variable that names the publisher's destination. */
const QUEUE_VARIABLE = /CRASHMOVER_CRASHPUBLISH_(TOPIC|QUEUE)_NAME/;

export function cloudServerTests(start: () => Promise<CloudSetup>): void {
  let setup: CloudSetup;
  beforeAll(async () => {
    setup = await start();
  });
  afterAll(async () => {
    await setup?.stop();
  });

  describe('without the spool (Antenna behaviour)', () => {
    let server: RunningServer;
    /** The names in `/__heartbeat__`'s errors when it answers 503, else none. */
    const errorsIf503 = async () => {
      const { status, body } = await heartbeat(server.url);
      return status === 503 ? body.errors.map((e) => e.name) : [];
    };
    beforeAll(async () => {
      server = await startServer({
        ...setup.env(),
        CRASHMOVER_SPOOL: 'off',
        CRASHMOVER_MAX_ATTEMPTS: '2',
        CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2',
        HEALTH_CHECK_INTERVAL: '1',
        WORKERS: '2',
      });
    });
    afterAll(async () => {
      await server?.stop();
    });

    test('start-up verification wrote one test/testfile-<uuid>.txt and published `test` once', async () => {
      const files = await setup.keys('test/');
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^test\/testfile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt$/);
      expect(await setup.published()).toEqual(['test']);
    });

    test('a crash gets 200, lands in the bucket under the SPEC §2 keys byte for byte, and its id is published once', async () => {
      const sent = [await submitNumbered(server.url, 0), await submitNumbered(server.url, 1)];
      expect(failures(sent)).toEqual([]);
      const ids = acknowledged(sent);
      // Acknowledged only after the save: already there, nothing to wait for.
      expect(await bucketProblems(ids, (key) => setup.read(key))).toEqual([]);
      const [id0, id1] = [ids.get(0)!, ids.get(1)!];
      expect((await setup.keys('v1/')).sort()).toEqual(
        [
          `v1/raw_crash/20${id0.slice(-6)}/${id0}`,
          `v1/dump_names/${id0}`,
          `v1/dump/${id0}`,
          `v1/memory_report/${id0}`, // crash 0 carries a memory report
          `v1/raw_crash/20${id1.slice(-6)}/${id1}`,
          `v1/dump_names/${id1}`,
          `v1/dump/${id1}`,
        ].sort(),
      );
      let published: string[] = [];
      await waitFor('both ids published', async () => ((published = await setup.published()), published.length >= 3));
      expect(queueProblems(ids.values(), published)).toEqual([]);
      expect(published.filter((m) => m !== 'test')).toHaveLength(2);
    });

    test('/__heartbeat__ is 200 while both backends are there, 503 naming storage while the bucket is missing (crashes get 500), and recovers', async () => {
      expect(await heartbeat(server.url)).toEqual({ status: 200, body: expect.objectContaining({ errors: [] }) });
      await setup.removeBucket();
      try {
        // Each worker checks on its own: wait until the one that answers has seen it.
        await waitFor(`a 503 heartbeat naming ${setup.storageName}`, async () => (await errorsIf503()).includes(setup.storageName), 20_000);
        // Without the spool the client waits for the save; it fails, so the client must retry later.
        const sent = await submitNumbered(server.url, 2);
        expect(sent.answer).toEqual(expect.objectContaining({ status: 500 }));
      } finally {
        await setup.restoreBucket();
      }
      // Every worker, not just the one that answers first: the worker that saw the
      // 500 refuses crashes until its next storage probe (HEALTH_CHECK_INTERVAL=1).
      await waitForSteadyHealth(server.url);
    });

    test('/__heartbeat__ is 503 naming the publisher while the topic/queue is missing (a saved crash still gets 200), and recovers', async () => {
      await setup.removeQueue();
      try {
        await waitFor(`a 503 heartbeat naming only ${setup.publisherName}`, async () => (await errorsIf503()).join() === setup.publisherName, 20_000);
        const sent = await submitNumbered(server.url, 3);
        expect(failures([sent])).toEqual([]);
        expect(await bucketProblems(acknowledged([sent]), (key) => setup.read(key))).toEqual([]);
      } finally {
        await setup.restoreQueue();
      }
      await waitFor('a 200 heartbeat', async () => (await heartbeat(server.url)).status === 200, 20_000);
    });
  });

  describe('start-up refused', () => {
    test('when the bucket does not exist: exits non-zero naming the bucket and CRASHMOVER_CRASHSTORAGE_BUCKET_NAME, never listening', async () => {
      const server = spawnServer({ ...setup.env({ bucket: 'no-such-bucket' }), WORKERS: '1' });
      const { code } = await server.exited;
      expect(code).not.toBe(0);
      const line = await server.waitForLog(/^Unhandled startup exception: /);
      expect(line.Fields!.message).toContain(`${setup.storageName} cannot write to its storage`);
      expect(line.Fields!.message).toContain('no-such-bucket');
      expect(line.Fields!.message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
      expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
    });

    test('when the topic/queue does not exist: exits non-zero naming the variable, never listening', async () => {
      const server = spawnServer({ ...setup.env({ queue: 'no-such-queue' }), WORKERS: '1' });
      const { code } = await server.exited;
      expect(code).not.toBe(0);
      const line = await server.waitForLog(/^Unhandled startup exception: /);
      expect(line.Fields!.message).toContain(`${setup.publisherName} cannot publish`);
      expect(line.Fields!.message).toMatch(QUEUE_VARIABLE);
      expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
    });
  });
}

/**
 * Store-and-forward through an outage (issue 7): the real server (two
 * workers, the spool at its default: on for remote storage) while storage and
 * publishing fail for `outageMs` — 503s for the first half, dropped
 * connections for the second — and a client posts crashes steadily. Every
 * crash must get 200, the node must stay healthy, and afterwards every
 * acknowledged crash must be in the bucket byte for byte and on the queue
 * exactly once.
 */
export function outageTest(start: () => Promise<CloudSetup>, outageMs: number): void {
  let setup: CloudSetup | undefined;
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
    await setup?.stop();
  });

  test(`storage and publishing down for ${outageMs / 1000} s under steady load: every crash gets 200, the node stays healthy, and all reach the bucket and the queue once`, async () => {
    const cloud = (setup = await start());
    server = await startServer({
      ...cloud.env(),
      CRASHMOVER_SPOOL_DIR: path.join(tempDir(), 'spool'),
      CRASHMOVER_CRASHSTORAGE_TIMEOUT: '10',
      CRASHMOVER_RETRY_SLEEP_SECONDS: '0.5',
      CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '2',
      // The spool's own check is critical: under CI's coverage run on a loaded
      // machine it once took over 1 s and the heartbeat said 503.
      HEALTH_CHECK_INTERVAL: '2',
      HEALTH_CHECK_TIMEOUT: '2',
      WORKERS: '2',
    });
    const base = server.url;
    const publishedIds = async () => (await cloud.published()).filter((m) => m !== 'test');

    cloud.outage('errors');
    const started = Date.now();
    const outageEnds = started + outageMs;
    const load = postSteadily(base, { clients: 2, intervalMs: 600, maxTotal: 400, stop: () => Date.now() > outageEnds });
    // The node stays healthy while it spools.
    const beats: Array<{ status: number; body: HeartbeatBody }> = [];
    let dropping = false;
    while (Date.now() < outageEnds) {
      if (!dropping && Date.now() > started + outageMs / 2) {
        cloud.outage('drops');
        dropping = true;
      }
      beats.push(await heartbeat(base));
      await sleep(1000);
    }
    const sent = await load;
    cloud.outage(false);

    expect(failures(sent)).toEqual([]);
    const ids = acknowledged(sent);
    expect(ids.size).toBeGreaterThan(outageMs / 1000); // at least one a second
    expect(beats.filter((b) => b.status !== 200)).toEqual([]);
    // The outage was real: both kinds of fault were served, crashes piled up, and storage showed as a warning.
    const faults = cloud.storageFaults();
    expect(faults.errors).toBeGreaterThan(0);
    expect(faults.drops).toBeGreaterThan(0);
    expect(Math.max(...beats.map((b) => b.body.spool!.crashes))).toBeGreaterThan(10);
    expect(beats.some((b) => b.body.spool!.backends.some((w) => w.name === cloud.storageName))).toBe(true);
    expect(await cloud.keys('v1/')).toEqual([]);

    await waitFor('an empty spool', async () => (await heartbeat(base)).body.spool!.crashes === 0, 120_000, 500);
    expect(await bucketProblems(ids, (key) => cloud.read(key))).toEqual([]);
    // Nothing else in the bucket: each crash saved under its acknowledged id only.
    expect((await cloud.keys('v1/raw_crash/')).length).toBe(ids.size);

    await waitFor('every id published', async () => (await publishedIds()).length >= ids.size, 30_000, 500);
    await sleep(1000); // a duplicate would show up now
    const published = await publishedIds();
    expect(queueProblems(ids.values(), published)).toEqual([]);
    expect(published.length).toBe(ids.size);

    await waitFor('no backend warnings', async () => (await heartbeat(base)).body.spool!.backends.length === 0, 15_000);
  });
}

/**
 * Starting while a backend is down (issue 12, SPEC §4). With the spool on, a
 * backend that is merely unavailable does not stop the start: the node warns,
 * accepts crashes into the spool, names the backend in `/__heartbeat__` and
 * drains once it is back. A configuration failure (bucket or queue missing,
 * access denied) still refuses, and so does any failure without the spool.
 */
export function startDuringOutageTests(start: () => Promise<CloudSetup>): void {
  let setup: CloudSetup;
  let crashNumber = 0;
  beforeAll(async () => {
    setup = await start();
  });
  afterEach(() => {
    setup.backendFault('storage', false);
    setup.backendFault('publish', false);
  });
  afterAll(async () => {
    await setup?.stop();
  });

  const serverEnv = (spool: 'on' | 'off', names?: { bucket?: string; queue?: string }) => ({
    ...setup.env(names),
    CRASHMOVER_SPOOL: spool,
    CRASHMOVER_SPOOL_DIR: path.join(tempDir(), 'spool'),
    CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2',
    CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '1',
    HEALTH_CHECK_INTERVAL: '1',
    WORKERS: '1',
  });

  /** Spawns a server that must refuse to start; resolves with its `Unhandled startup exception` message. */
  async function refusal(env: Record<string, string>): Promise<string> {
    const server = spawnServer(env);
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
    return (await server.waitForLog(/^Unhandled startup exception: /)).Fields!.message!;
  }

  test.each([
    ['storage', 'unavailable'],
    ['storage', 'unreachable'],
    ['publish', 'unavailable'],
  ] as const)(
    'spool on, %s %s at start: starts with a warning, a crash gets 200, /__heartbeat__ names the backend, and the crash reaches the bucket and the queue once it is back',
    async (backend, fault) => {
      const name = backend === 'storage' ? setup.storageName : setup.publisherName;
      setup.backendFault(backend, fault);
      const server = await startServer(serverEnv('on'));
      try {
        const warning = await server.waitForLog(new RegExp(`^${name} cannot .*starting anyway`));
        expect(warning.Fields!.message).toMatch(fault === 'unavailable' ? /unavailable/ : /cannot reach/);
        expect(warning.Fields!.message).toContain('CRASHMOVER_SPOOL_DIR');

        const sent = await submitNumbered(server.url, crashNumber++);
        expect(failures([sent])).toEqual([]);
        const ids = acknowledged([sent]);
        const id = [...ids.values()][0]!;
        await waitFor(
          `a 200 heartbeat naming ${name} as a spool warning`,
          async () => {
            const { status, body } = await heartbeat(server.url);
            return status === 200 && body.errors.length === 0 && body.spool!.backends.some((w) => w.name === name);
          },
          20_000,
        );
        // The backend really is down: the crash waits in the spool.
        if (backend === 'storage') expect(await setup.read(rawCrashKey(id))).toBeUndefined();
        else expect(await setup.published()).not.toContain(id);

        setup.backendFault(backend, false);
        await waitFor('the crash in the bucket', async () => (await bucketProblems(ids, (key) => setup.read(key))).length === 0, 30_000, 250);
        await waitFor('its id published', async () => (await setup.published()).includes(id), 30_000, 250);
        await waitFor(
          'an empty spool and no backend warnings',
          async () => {
            const { body } = await heartbeat(server.url);
            return body.spool!.crashes === 0 && body.spool!.backends.length === 0;
          },
          20_000,
        );
        expect(queueProblems([id], await setup.published())).toEqual([]);
      } finally {
        await server.stop();
      }
    },
  );

  test('spool on, bucket missing: refuses to start naming the bucket and CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', async () => {
    const message = await refusal(serverEnv('on', { bucket: 'no-such-bucket' }));
    expect(message).toContain(`${setup.storageName} cannot write to its storage`);
    expect(message).toContain('no-such-bucket');
    expect(message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('spool on, storage denies access (403): refuses to start naming the permission to grant', async () => {
    setup.backendFault('storage', 'denied');
    const message = await refusal(serverEnv('on'));
    expect(message).toContain(`${setup.storageName} cannot write to its storage`);
    expect(message).toMatch(/grant the collector's (service account roles\/storage\.objectUser|IAM identity s3:PutObject)/);
  });

  test('spool on, storage unavailable and the topic/queue missing: refuses to start naming the topic/queue variable', async () => {
    setup.backendFault('storage', 'unavailable');
    const message = await refusal(serverEnv('on', { queue: 'no-such-queue' }));
    expect(message).toContain(`${setup.publisherName} cannot publish`);
    expect(message).toMatch(QUEUE_VARIABLE);
  });

  test('spool off, storage unavailable: refuses to start (Antenna behaviour)', async () => {
    setup.backendFault('storage', 'unavailable');
    const message = await refusal(serverEnv('off'));
    expect(message).toContain(`${setup.storageName} cannot write to its storage`);
    expect(message).toMatch(/unavailable/);
  });
}

/** Heartbeats answered 200 for 2.5 s in a row (longer than HEALTH_CHECK_INTERVAL=1): every worker has recovered. */
async function waitForSteadyHealth(url: string): Promise<void> {
  let healthySince: number | undefined;
  await waitFor(
    'every worker to answer a 200 heartbeat for 2.5 s',
    async () => {
      if ((await heartbeat(url)).status !== 200) healthySince = undefined;
      else healthySince ??= Date.now();
      return healthySince !== undefined && Date.now() - healthySince >= 2500;
    },
    30_000,
  );
}
