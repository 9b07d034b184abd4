import path from 'node:path';
import { acknowledged, bucketProblems, failures, heartbeat, postSteadily, queueProblems, type HeartbeatBody } from '../cloud-crashes';
import type { CloudSetup } from '../cloud-setups';
import { startServer, tempDir, type RunningServer } from '../server';
import { sleep, waitFor } from '../wait';

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
