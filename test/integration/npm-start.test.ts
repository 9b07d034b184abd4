import { execFileSync } from 'node:child_process';
import { spawnServer } from '../support/server';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

const hasNpm = (() => {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasNpm) console.warn('npm is not on PATH: skipping the npm start signal test');

(hasNpm ? test : test.skip)('SIGTERM to npm start drains and stops the node instead of orphaning it', async () => {
  // npm runs the prestart build check, then `node dist/main.js` under `sh -c`.
  let primaryPid: number | undefined;
  const server = spawnServer({ WORKERS: '1' }, { wrap: () => ['npm', 'start', '--silent'] });
  try {
    const line = await server.waitForLog(/^primary (\d+) forking/);
    const primary = Number(/^primary (\d+)/.exec(line.Fields!.message!)![1]);
    primaryPid = primary;
    await server.waitForLog(/antenna ready/);
    server.proc.kill('SIGTERM'); // to npm itself, as `kill <npm pid>` does
    // npm is gone at once; the primary still writes to the same pipe.
    const logged = (re: RegExp) => server.logs.some((l) => re.test(l.raw));
    expect(await waitUntil(() => !alive(primary), 20000)).toBe(true);
    expect(logged(/npm, which started this node, is gone/)).toBe(true);
    expect(logged(/all workers have exited; primary exiting/)).toBe(true);
    primaryPid = undefined;
  } finally {
    await server.stop('SIGKILL');
    if (primaryPid !== undefined && alive(primaryPid)) process.kill(primaryPid, 'SIGKILL');
  }
});
