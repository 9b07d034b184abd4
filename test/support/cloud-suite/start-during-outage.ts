import path from 'node:path';
import { acknowledged, bucketProblems, failures, heartbeat, queueProblems, submitNumbered } from '../cloud-crashes';
import type { CloudSetup } from '../cloud-setups';
import { rawCrashKey } from '../crashes';
import { spawnServer, startServer, tempDir } from '../server';
import { waitFor } from '../wait';
import { QUEUE_VARIABLE } from './common';

type ServerEnv = (spool: 'on' | 'off', names?: { bucket?: string; queue?: string }) => Record<string, string>;

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

  const serverEnv: ServerEnv = (spool, names) => ({
    ...setup.env(names),
    CRASHMOVER_SPOOL: spool,
    CRASHMOVER_SPOOL_DIR: path.join(tempDir(), 'spool'),
    CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2',
    CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '1',
    HEALTH_CHECK_INTERVAL: '1',
    WORKERS: '1',
  });

  test.each([
    ['storage', 'unavailable'],
    ['storage', 'unreachable'],
    ['publish', 'unavailable'],
  ] as const)(
    'spool on, %s %s at start: starts with a warning, a crash gets 200, /__heartbeat__ names the backend, and the crash reaches the bucket and the queue once it is back',
    (backend, fault) => startsThroughOutage(setup, serverEnv, backend, fault, () => crashNumber++),
  );

  refusalTests(() => setup, serverEnv);
}

/** Starts with `backend` down, has one crash acknowledged into the spool, then lets the backend back and sees the crash through. */
async function startsThroughOutage(
  setup: CloudSetup,
  serverEnv: ServerEnv,
  backend: 'storage' | 'publish',
  fault: 'unavailable' | 'unreachable',
  nextCrash: () => number,
): Promise<void> {
  const name = backend === 'storage' ? setup.storageName : setup.publisherName;
  setup.backendFault(backend, fault);
  const server = await startServer(serverEnv('on'));
  try {
    const warning = await server.waitForLog(new RegExp(`^${name} cannot .*starting anyway`));
    expect(warning.Fields!.message).toMatch(fault === 'unavailable' ? /unavailable/ : /cannot reach/);
    expect(warning.Fields!.message).toContain('CRASHMOVER_SPOOL_DIR');

    const sent = await submitNumbered(server.url, nextCrash());
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
}

/** Spawns a server that must refuse to start; resolves with its `Unhandled startup exception` message. */
async function refusal(env: Record<string, string>): Promise<string> {
  const server = spawnServer(env);
  const { code } = await server.exited;
  expect(code).not.toBe(0);
  expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
  return (await server.waitForLog(/^Unhandled startup exception: /)).Fields!.message!;
}

function refusalTests(getSetup: () => CloudSetup, serverEnv: ServerEnv): void {
  test('spool on, bucket missing: refuses to start naming the bucket and CRASHMOVER_CRASHSTORAGE_BUCKET_NAME', async () => {
    const message = await refusal(serverEnv('on', { bucket: 'no-such-bucket' }));
    expect(message).toContain(`${getSetup().storageName} cannot write to its storage`);
    expect(message).toContain('no-such-bucket');
    expect(message).toContain('CRASHMOVER_CRASHSTORAGE_BUCKET_NAME');
  });

  test('spool on, storage denies access (403): refuses to start naming the permission to grant', async () => {
    getSetup().backendFault('storage', 'denied');
    const message = await refusal(serverEnv('on'));
    expect(message).toContain(`${getSetup().storageName} cannot write to its storage`);
    expect(message).toMatch(/grant the collector's (service account roles\/storage\.objectUser|IAM identity s3:PutObject)/);
  });

  test('spool on, storage unavailable and the topic/queue missing: refuses to start naming the topic/queue variable', async () => {
    getSetup().backendFault('storage', 'unavailable');
    const message = await refusal(serverEnv('on', { queue: 'no-such-queue' }));
    expect(message).toContain(`${getSetup().publisherName} cannot publish`);
    expect(message).toMatch(QUEUE_VARIABLE);
  });

  test('spool off, storage unavailable: refuses to start (Antenna behaviour)', async () => {
    getSetup().backendFault('storage', 'unavailable');
    const message = await refusal(serverEnv('off'));
    expect(message).toContain(`${getSetup().storageName} cannot write to its storage`);
    expect(message).toMatch(/unavailable/);
  });
}
