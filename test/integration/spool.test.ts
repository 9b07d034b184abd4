import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crashBody, crashIdFrom, crashParts, fakeDump, storedFiles } from '../support/crashes';
import { get, post, type Answer } from '../support/http';
import { breakFsStorage as breakStorage, spawnServer, startServer, tempDir, type RunningServer } from '../support/server';
import { sleep, waitFor } from '../support/wait';

type Outcome = Answer | { error: string };
const settle = (p: Promise<Answer>): Promise<Outcome> => p.catch((e: Error) => ({ error: e.message }));
const isAnswer = (o: Outcome): o is Answer => !('error' in o);

function submit(server: RunningServer, i: number, dumpSize = 3000) {
  const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: String(i) }, { upload_file_minidump: fakeDump(dumpSize, i) }));
  return post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
}

function repairStorage(fsRoot: string): void {
  rmSync(path.join(fsRoot, 'v1'), { force: true });
}

function storedIds(fsRoot: string): Set<string> {
  return new Set(
    storedFiles(fsRoot)
      .filter((f) => f.startsWith('v1/raw_crash/'))
      .map((f) => path.basename(f)),
  );
}

const spoolEnv = (dir: string, fsRoot: string, extra: Record<string, string> = {}) => ({
  CRASHMOVER_SPOOL: 'on',
  CRASHMOVER_SPOOL_DIR: path.join(dir, 'spool'),
  CRASHMOVER_CRASHSTORAGE_FS_ROOT: fsRoot,
  CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2',
  CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '1',
  HEARTBEAT_INTERVAL: '200',
  HEALTH_CHECK_INTERVAL: '1',
  WORKERS: '2',
  ...extra,
});

describe('spool: storage outage under continuous load', () => {
  it('answers every crash with 200, stays healthy, and moves them all once storage is back', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const server = await startServer(spoolEnv(dir, fsRoot));
    try {
      breakStorage(fsRoot);
      const answers: Outcome[] = [];
      let running = true;
      const clients = Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; running; i++) answers.push(await settle(submit(server, c * 10000 + i)));
      });
      await sleep(2500);
      const during = await get(`${server.url}/__heartbeat__`);
      expect(during.status).toBe(200);
      const duringView = JSON.parse(during.text);
      expect(duringView.spool.crashes).toBeGreaterThan(0);
      expect(storedIds(fsRoot).size).toBe(0);
      await server.waitForLog(/FSCrashStorage cannot save .*; crashes are kept in the spool/);

      repairStorage(fsRoot);
      await sleep(1000);
      running = false;
      await Promise.all(clients);

      const failures = answers.filter((a) => !isAnswer(a) || a.status !== 200);
      expect(failures.map((f) => (isAnswer(f) ? `${f.status} ${f.text}` : f.error))).toEqual([]);
      const acked = (answers as Answer[]).map((a) => crashIdFrom(a.text));
      expect(acked.length).toBeGreaterThan(20);
      await waitFor('every acknowledged crash in storage', () => acked.every((id) => storedIds(fsRoot).has(id)));
      expect(storedIds(fsRoot).size).toBe(acked.length);
      await server.waitForLog(/work again after \d+ s/);
      await waitFor('an empty spool', async () => JSON.parse((await get(`${server.url}/__heartbeat__`)).text).spool.crashes === 0);
    } finally {
      await server.stop();
    }
  });
});

describe('spool: SIGKILL of the whole process tree', () => {
  it('after a restart every acknowledged crash lands exactly once', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const env = spoolEnv(dir, fsRoot);
    const first = spawnServer(env, { detached: true });
    await first.waitForLog(/antenna ready/);
    const url = /listening on (http:\/\/[^\s]+)/.exec(first.logs.find((l) => /listening on/.test(l.raw))!.Fields!.message!)![1]!;
    first.url = url.replace('0.0.0.0', '127.0.0.1');
    breakStorage(fsRoot);
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) acked.push(crashIdFrom((await submit(first, i)).text));
    // Some are being retried right now; kill everything mid-move.
    process.kill(-first.proc.pid!, 'SIGKILL');
    await first.exited;
    repairStorage(fsRoot);

    const second = await startServer(env);
    try {
      await second.waitForLog(/spool at .*: 30 crashes \(\d+ bytes\) waiting, \d+ of them released from workers of a previous run/);
      await waitFor('every acknowledged crash in storage', () => acked.every((id) => storedIds(fsRoot).has(id)));
      expect([...storedIds(fsRoot)].sort()).toEqual([...acked].sort());
      await waitFor('an empty spool', async () => JSON.parse((await get(`${second.url}/__heartbeat__`)).text).spool.crashes === 0);
    } finally {
      await second.stop();
    }
  });
});

describe('spool: a spool directory the primary cannot list', () => {
  it('logs the cause, keeps the node serving, and says when it can list it again', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const server = await startServer(spoolEnv(dir, fsRoot));
    const claimed = path.join(dir, 'spool', 'claimed');
    try {
      renameSync(claimed, `${claimed}.moved`);
      writeFileSync(claimed, 'not a directory');
      await server.waitForLog(/spool: cannot list .*ENOTDIR.*check that CRASHMOVER_SPOOL_DIR is a directory this user can read/);
      const cannotList = () => server.logs.filter((l) => /spool: cannot list/.test(l.raw)).map((l) => l.Fields!.message!);
      // The swap above is not atomic: a listing caught half-way fails on claimed/<pid> instead,
      // a second message of its own. Once claimed/ is a file, every listing fails alike.
      const steady = `ENOTDIR: not a directory, scandir '${claimed}'`;
      await waitFor('a listing failing on claimed/ itself', () => cannotList().some((m) => m.includes(steady)), 10_000);
      const logged = cannotList();
      await sleep(1000); // five more heartbeats, each with a failing listing
      expect(server.proc.exitCode).toBeNull();
      expect((await get(`${server.url}/__lbheartbeat__`)).status).toBe(200);
      // Logged when it starts, not every heartbeat: nothing new, and no message twice.
      expect(cannotList()).toEqual(logged);
      expect(logged.filter((m) => m.includes(steady))).toHaveLength(1);
      expect(new Set(logged).size).toBe(logged.length);

      rmSync(claimed);
      renameSync(`${claimed}.moved`, claimed);
      await server.waitForLog(/spool: .* can be listed again/);
      expect((await submit(server, 1)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('spool: drain on SIGTERM, and npm run spool', () => {
  const tool = path.resolve(__dirname, '..', '..', 'dist', 'tools', 'spool.js');
  const runTool = (env: Record<string, string>, ...args: string[]) =>
    JSON.parse(execFileSync(process.execPath, [tool, ...args, '--json'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }));

  it('with storage down, stops within GRACEFUL_TIMEOUT, logs what is left, and the spool tool shows and moves it', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const env = spoolEnv(dir, fsRoot, { GRACEFUL_TIMEOUT: '3' });
    const server = await startServer(env);
    breakStorage(fsRoot);
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) acked.push(crashIdFrom((await submit(server, i)).text));
    const { code } = await server.stop('SIGTERM');
    expect(code).toBe(0);
    await server.waitForLog(/spool: 5 crashes \(\d+ bytes\) are still in .*; they will be moved on the next start/);

    expect(runTool(env, 'status')).toEqual(expect.objectContaining({ crashes: 5 }));
    repairStorage(fsRoot);
    expect(runTool(env, 'drain', '--timeout', '30')).toEqual({ moved: 5, left: 0, complete: true });
    expect([...storedIds(fsRoot)].sort()).toEqual([...acked].sort());
    expect(runTool(env, 'status')).toEqual(expect.objectContaining({ crashes: 0, bytes: 0 }));
  });
});

describe('spool: full', () => {
  it('answers 503 with Retry-After when the spool is full, turns /__heartbeat__ 503, and recovers', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const server = await startServer(spoolEnv(dir, fsRoot, { CRASHMOVER_SPOOL_MAX_BYTES: '3MiB', WORKERS: '1' }));
    try {
      breakStorage(fsRoot);
      const acked: string[] = [];
      let refused: Answer | undefined;
      for (let i = 0; i < 60 && !refused; i++) {
        const a = await submit(server, i, 200_000);
        if (a.status === 200) acked.push(crashIdFrom(a.text));
        else refused = a;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.headers['retry-after']).toBe('30');
      expect(refused?.text).toMatch(/spool is full/);
      expect(acked.length).toBeGreaterThan(5);
      await waitFor('a 503 heartbeat', async () => (await get(`${server.url}/__heartbeat__`)).status === 503, 10000);
      expect(JSON.parse((await get(`${server.url}/__heartbeat__`)).text).errors.map((e: { name: string }) => e.name)).toContain('Spool');

      repairStorage(fsRoot);
      await waitFor('every acknowledged crash in storage', () => acked.every((id) => storedIds(fsRoot).has(id)));
      await waitFor('a healthy heartbeat', async () => (await get(`${server.url}/__heartbeat__`)).status === 200, 10000);
      expect((await submit(server, 999)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

function canMountTmpfs(): boolean {
  try {
    execFileSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /tmp'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tmpfs = canMountTmpfs();
if (!tmpfs) console.warn('spool disk-full test skipped: this machine cannot mount a tmpfs in a user namespace (unshare -rm)');

(tmpfs ? describe : describe.skip)('spool: disk full', () => {
  it('refuses crashes cleanly when the disk runs out mid-write, never acknowledging one it could not store', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const spool = path.join(dir, 'spool');
    mkdirSync(spool);
    // The server runs with the spool on a 3 MiB tmpfs of its own (a private mount namespace).
    const server = await startServer(spoolEnv(dir, fsRoot, { CRASHMOVER_SPOOL_MAX_BYTES: '1GiB', WORKERS: '1' }), {
      wrap: (argv) => ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o size=3m tmpfs "${spool}" && exec "$@"`, 'sh', ...argv],
    });
    try {
      breakStorage(fsRoot);
      const acked: string[] = [];
      let refused: Answer | undefined;
      for (let i = 0; i < 40 && !refused; i++) {
        const a = await submit(server, i, 300_000);
        if (a.status === 200) acked.push(crashIdFrom(a.text));
        else refused = a;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.text).toMatch(/could not be stored locally/);
      await server.waitForLog(/cannot write to the spool .*ENOSPC/);
      expect(acked.length).toBeGreaterThan(3);

      repairStorage(fsRoot);
      await waitFor('every acknowledged crash in storage', () => acked.every((id) => storedIds(fsRoot).has(id))).catch((e) => {
        console.log(
          server.logs
            .slice(-40)
            .map((l) => l.raw)
            .join('\n'),
        );
        throw e;
      });
      expect(storedIds(fsRoot).size).toBe(acked.length);
      // Space is free again: crashes are accepted.
      expect((await submit(server, 1000, 300_000)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('spool: the heartbeat before the first listing', () => {
  it('says crashes: null until the primary has listed the spool, never a 0 that a monitor would take for empty', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    // A slow heartbeat: the first listing reaches the workers 4 s after the start.
    const server = await startServer(spoolEnv(dir, fsRoot, { HEARTBEAT_INTERVAL: '4000' }));
    try {
      const early = JSON.parse((await get(`${server.url}/__heartbeat__`)).text) as { spool: { crashes: number | null } };
      expect(early.spool.crashes).toBeNull();
      await waitFor('the first listing', async () => JSON.parse((await get(`${server.url}/__heartbeat__`)).text).spool.crashes === 0, 15000);
    } finally {
      await server.stop();
    }
  });
});
