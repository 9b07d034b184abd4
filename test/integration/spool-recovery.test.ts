/**
 * Recovery without a restart (issue 15): with the spool on and storage down,
 * a worker holding claimed entries is SIGKILLed while the node keeps running.
 * The primary must put that worker's claims back in `ready/` at once, so
 * that the other workers move them when storage returns; waiting for the
 * next start would leave acknowledged crashes behind indefinitely.
 */
import dgram from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startGcsSetup, type CloudSetup } from '../support/cloud-setups';
import { crashBody, crashIdFrom, crashParts, fakeDump } from '../support/crashes';
import { post } from '../support/http';
import { statsdCount } from '../support/recording';
import { startServer, tempDir, type RunningServer } from '../support/server';
import { sleep, waitFor } from '../support/wait';

jest.setTimeout(120_000);

function submit(server: RunningServer, i: number) {
  const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: String(i) }, { upload_file_minidump: fakeDump(2000, i) }));
  return post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
}

/** Entries in each worker's claims directory, by worker pid. */
function claimsByPid(spool: string): Map<number, number> {
  const dir = path.join(spool, 'claimed');
  const out = new Map<number, number>();
  if (!existsSync(dir)) return out;
  for (const pid of readdirSync(dir)) {
    try {
      out.set(Number(pid), readdirSync(path.join(dir, pid)).length);
    } catch {
      // released (removed) while listing
    }
  }
  return out;
}

describe('spool: a worker killed while storage is down', () => {
  let cloud: CloudSetup | undefined;
  let server: RunningServer | undefined;
  let udp: dgram.Socket | undefined;
  afterAll(async () => {
    await server?.stop();
    await cloud?.stop();
    udp?.close();
  });

  it('every acknowledged crash lands exactly once while the node keeps running; the release is logged and counted', async () => {
    const statsd: string[] = [];
    udp = dgram.createSocket('udp4');
    udp.on('message', (m) => statsd.push(...m.toString().split('\n').filter(Boolean)));
    await new Promise<void>((r) => udp!.bind(0, '127.0.0.1', r));

    cloud = await startGcsSetup('recovery');
    const spool = path.join(tempDir(), 'spool');
    server = await startServer({
      ...cloud.env(),
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: spool,
      CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2',
      CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '1',
      // Each worker claims a few of the crashes it spools; the others go to ready/.
      CRASHMOVER_CONCURRENT_CRASHMOVERS: '2',
      CRASHMOVER_MAX_QUEUE_SIZE: '4',
      HEARTBEAT_INTERVAL: '200',
      WORKERS: '2',
      STATSD_HOST: '127.0.0.1',
      STATSD_PORT: String((udp.address() as AddressInfo).port),
      HOSTNAME: 'collector-r',
    });
    const primary = server.proc.pid!;
    const publishedIds = async () => (await cloud!.published()).filter((m) => m !== 'test');

    cloud.backendFault('storage', 'unavailable');
    const acked: string[] = [];
    for (let i = 0; i < 24; i++) {
      const a = await submit(server, i);
      expect(a.status).toBe(200);
      acked.push(crashIdFrom(a.text));
    }
    // Both workers spooled into their own claims (the access log says which worker answered).
    const workers = new Set(server.logs.filter((l) => l.Type === 'antenna.access' && l.Fields?.path === '/submit').map((l) => l.Pid!));
    let victim: number | undefined;
    await waitFor('a worker holding claimed crashes', () => {
      victim = [...claimsByPid(spool)].find(([pid, n]) => workers.has(pid) && n > 0)?.[0];
      return victim !== undefined;
    });
    expect(await cloud.keys('v1/raw_crash/')).toEqual([]);

    process.kill(victim!, 'SIGKILL');
    const released = await server.waitForLog(new RegExp(`spool: released (\\d+) crashes claimed by worker ${victim}$`));
    const n = Number(/released (\d+) crashes/.exec(released.Fields!.message!)![1]);
    expect(n).toBeGreaterThan(0);
    expect(released.Pid).toBe(primary);
    // Counted by the primary, with the same number.
    await waitFor('the release counted in StatsD', () => statsd.some((l) => l.startsWith('socorro.collector.spool.released.count:')), 10_000);
    expect(statsd.filter((l) => l.startsWith('socorro.collector.spool.released.count:'))).toEqual([
      `socorro.collector.spool.released.count:${n}|c|#host:collector-r`,
    ]);
    await server.waitForLog(new RegExp(`replaced worker ${victim}`));

    cloud.backendFault('storage', false);
    await waitFor('every acknowledged crash in the bucket', async () => (await cloud!.keys('v1/raw_crash/')).length >= acked.length, 60_000, 300);
    expect((await cloud.keys('v1/raw_crash/')).map((k) => path.basename(k)).sort()).toEqual([...acked].sort());
    await waitFor('every id published', async () => (await publishedIds()).length >= acked.length, 30_000, 300);
    // Counted as Antenna counts them: each crash saved once, each failed attempt a retry with its tag.
    const total = (name: string) => statsdCount(statsd, `collector.${name}`);
    await waitFor('every save counted', () => total('crashmover.save_crash.count') >= acked.length, 10_000);
    await sleep(1000); // a duplicate would show up now
    expect((await publishedIds()).sort()).toEqual([...acked].sort());
    expect(total('crashmover.save_crash.count')).toBe(acked.length);
    expect(total('spool.moved.count')).toBe(acked.length);
    const retries = statsd.filter((l) => l.startsWith('socorro.collector.crashmover.retry_count:'));
    expect(retries.length).toBeGreaterThan(0);
    // Summed per second in each process (STATSD_AGGREGATION_INTERVAL_MS), each line with its tag.
    expect(
      retries.filter((l) => !/^socorro\.collector\.crashmover\.retry_count:[1-9]\d*\|c\|#host:collector-r,count:save_crash_exception\.count$/.test(l)),
    ).toEqual([]);

    // The same node did all of it: the primary never exited, never started over.
    expect(server.proc.exitCode).toBeNull();
    expect(server.logs.filter((l) => /forking \d+ workers/.test(l.Fields?.message ?? ''))).toHaveLength(1);
    expect(server.logs.filter((l) => /^spool at /.test(l.Fields?.message ?? ''))).toHaveLength(1);
    expect(server.logs.filter((l) => /released from workers of a previous run/.test(l.raw))).toEqual([]);
    expect(claimsByPid(spool).has(victim!)).toBe(false);
  });
});
