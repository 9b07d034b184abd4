import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crashBody, crashIdFrom, crashParts, fakeDump, rawCrashKey } from '../support/crashes';
import { get, post, type Answer } from '../support/http';
import { startServer, type RunningServer } from '../support/server';
import { waitFor } from '../support/wait';

function submit(server: RunningServer, i: number): Promise<Answer> {
  const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: String(i) }, { upload_file_minidump: fakeDump(3000, i) }));
  return post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
}

interface Heartbeat {
  status: number;
  errors: Array<{ name: string; msg: string }>;
}
async function heartbeat(server: RunningServer): Promise<Heartbeat> {
  const res = await get(`${server.url}/__heartbeat__`);
  return { status: res.status, errors: (JSON.parse(res.text) as { errors: Heartbeat['errors'] }).errors };
}

describe('fs storage failing under a running node (no spool)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      WORKERS: '1',
      HEALTH_CHECK_INTERVAL: '1',
      CRASHMOVER_MAX_ATTEMPTS: '3',
      CRASHMOVER_RETRY_SLEEP_SECONDS: '0.1',
      CRASHMOVER_RETRY_AFTER_SECONDS: '7',
      SECRET_SENTRY_DSN: '',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the heartbeat names the broken dump directory, crashes get a fast 503 with Retry-After, and the node recovers by itself', async () => {
    const first = await submit(server, 0);
    expect(first.status).toBe(200);

    // Every save now fails: the dump directory is a file (the test runs as root, so permissions would not stop it).
    const dumpDir = path.join(server.fsRoot, 'v1', 'dump');
    rmSync(dumpDir, { recursive: true });
    writeFileSync(dumpDir, 'in the way');

    let beat: Heartbeat | undefined;
    await waitFor(
      'the heartbeat to report the dump directory',
      async () => {
        beat = await heartbeat(server);
        return beat.status === 503 && beat.errors.some((e) => e.msg.includes(dumpDir));
      },
      20_000,
    );
    expect(beat!.errors.some((e) => e.name === 'FSCrashStorage')).toBe(true);

    // The first crash after the breakage waits out the retries: 500, and it too says when to come back.
    const failed = await submit(server, 1);
    expect(`${failed.status} ${failed.text}`).toBe('500 Error: the crash could not be saved; please retry later');
    expect(failed.headers['retry-after']).toBe('7');

    // From then on the node knows: the next crash is refused at once, never tried against the storage.
    const refused = await submit(server, 2);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.text).toMatch(/FSCrashStorage is failing/);
    const during = await heartbeat(server);
    expect(during.errors.some((e) => /saves have been failing/.test(e.msg) && e.msg.includes(dumpDir))).toBe(true);
    const retriesBefore = server.logs.filter((l) => /save attempt \d+ failed/.test(l.Fields?.message ?? '')).length;
    expect((await submit(server, 3)).status).toBe(503);
    expect(server.logs.filter((l) => /save attempt \d+ failed/.test(l.Fields?.message ?? '')).length).toBe(retriesBefore);

    // Repaired: the health probe notices within an interval and crashes are stored again.
    rmSync(dumpDir);
    let stored: string | undefined;
    await waitFor(
      'a crash stored after the repair',
      async () => {
        const res = await submit(server, 4);
        if (res.status !== 200) return false;
        stored = crashIdFrom(res.text);
        return true;
      },
      20_000,
      250,
    );
    expect(existsSync(path.join(server.fsRoot, rawCrashKey(stored!)))).toBe(true);
    expect(existsSync(path.join(dumpDir, stored!))).toBe(true);
    await waitFor('a healthy heartbeat', async () => (await heartbeat(server)).status === 200, 20_000);
    await server.waitForLog(/FSCrashStorage saves crashes again after \d+ s/);
  });
});
