/**
 * The server-level tests of a cloud setup (storage + publisher against their
 * fakes), shared by the GCS/Pub/Sub and S3/SQS test files so that jest runs
 * the two in parallel. Each setup adapts its fakes to `CloudSetup`.
 */
import { acknowledged, bucketProblems, failures, heartbeat, queueProblems, submitNumbered, waitFor } from './cloud-crashes';
import { spawnServer, startServer, type RunningServer } from './server';

export interface CloudSetup {
  /** The names the backends report in `/__heartbeat__` and in logs. */
  storageName: string;
  publisherName: string;
  /** Server environment: storage and publisher on the fakes; `bucket` / `queue` override the names. */
  env(names?: { bucket?: string; queue?: string }): Record<string, string>;
  /** An object of the bucket, or undefined. */
  read(key: string): Promise<Buffer | undefined>;
  keys(prefix: string): Promise<string[]>;
  /** Every message body published so far (by pulling from a subscription / receiving from the queue). */
  published(): Promise<string[]>;
  /** Deletes / recreates the bucket (emptied), and the topic or queue. */
  removeBucket(): Promise<void>;
  restoreBucket(): Promise<void>;
  removeQueue(): Promise<void>;
  restoreQueue(): Promise<void>;
  stop(): Promise<void>;
}

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
        HEARTBEAT_INTERVAL: '250',
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
      await waitFor('a 200 heartbeat', async () => (await heartbeat(server.url)).status === 200, 20_000);
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
