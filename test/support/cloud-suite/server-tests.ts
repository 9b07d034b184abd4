import { acknowledged, bucketProblems, failures, heartbeat, queueProblems, submitNumbered } from '../cloud-crashes';
import type { CloudSetup } from '../cloud-setups';
import { spawnServer, startServer, type RunningServer } from '../server';
import { waitFor } from '../wait';
import { QUEUE_VARIABLE } from './common';

/** The server-level tests of a cloud setup, against the setup `start` makes once for the file. */
export function cloudServerTests(start: () => Promise<CloudSetup>): void {
  let setup: CloudSetup;
  beforeAll(async () => {
    setup = await start();
  });
  afterAll(async () => {
    await setup?.stop();
  });

  describe('without the spool (Antenna behaviour)', () => withoutSpoolTests(() => setup));
  describe('start-up refused', () => startRefusedTests(() => setup));
}

function withoutSpoolTests(getSetup: () => CloudSetup): void {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      ...getSetup().env(),
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
    const setup = getSetup();
    const files = await setup.keys('test/');
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^test\/testfile-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt$/);
    expect(await setup.published()).toEqual(['test']);
  });

  test('a crash gets 200, lands in the bucket under the SPEC §2 keys byte for byte, and its id is published once', async () => {
    const setup = getSetup();
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

  backendHealthTests(getSetup, () => server);
}

/** `/__heartbeat__` while the bucket, then the topic/queue, is missing. */
function backendHealthTests(getSetup: () => CloudSetup, getServer: () => RunningServer): void {
  /** The names in `/__heartbeat__`'s errors when it answers 503, else none. */
  const errorsIf503 = async () => {
    const { status, body } = await heartbeat(getServer().url);
    return status === 503 ? body.errors.map((e) => e.name) : [];
  };

  test('/__heartbeat__ is 200 while both backends are there, 503 naming storage while the bucket is missing (crashes get 500), and recovers', async () => {
    const [setup, server] = [getSetup(), getServer()];
    // Waited for, not taken at once: the fakes answer from this jest process, and on a
    // loaded 2-core CI host one probe round has missed HEALTH_CHECK_INTERVAL=1's 1 s bound.
    await waitFor(
      'a 200 heartbeat with no errors',
      async () => {
        const { status, body } = await heartbeat(server.url);
        return status === 200 && body.errors.length === 0;
      },
      20_000,
    );
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
    const [setup, server] = [getSetup(), getServer()];
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
}

function startRefusedTests(getSetup: () => CloudSetup): void {
  test('when the bucket does not exist: exits non-zero naming the bucket and CRASHMOVER_CRASHSTORAGE_BUCKET_NAME, never listening', async () => {
    const setup = getSetup();
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
    const setup = getSetup();
    const server = spawnServer({ ...setup.env({ queue: 'no-such-queue' }), WORKERS: '1' });
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    const line = await server.waitForLog(/^Unhandled startup exception: /);
    expect(line.Fields!.message).toContain(`${setup.publisherName} cannot publish`);
    expect(line.Fields!.message).toMatch(QUEUE_VARIABLE);
    expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
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
