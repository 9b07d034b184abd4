/**
 * The collector under test: started detached (its own process group, so the
 * whole tree can be SIGKILLed at once) on a fixed 127.0.0.1 port, so a
 * restarted node answers where the old one did. Every node and temp dir is
 * removed on exit, Ctrl-C or error.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnServer, type RunningServer } from '../../test/support/server';
import { processTree } from '../../bench/lib/rss';

/** The repository root: the nearest directory above this file with a package.json (works from chaos/lib and chaos/dist/chaos/lib). */
function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}
export const ROOT = findRoot(__dirname);
/** The collector's entry point (test/support/server.ts finds it relative to itself, which is wrong once compiled to chaos/dist). */
const MAIN = path.join(ROOT, 'dist', 'main.js');

const live = new Set<RunningServer>();
const temps = new Set<string>();

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

/** Last resort, synchronous: SIGKILL every node's process group, delete every temp dir. */
export function cleanUpNow(): void {
  for (const s of live) killGroup(s.proc.pid, 'SIGKILL');
  live.clear();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
  temps.clear();
}

export function chaosTemp(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `antenna-chaos-${name}-`));
  temps.add(dir);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ChaosNode {
  server: RunningServer;
  pid: number;
  port: number;
  alive(): boolean;
  workerPids(): number[];
  /** Log lines so far: workers that died without being asked, and replacements forked. */
  deaths(): number;
  replacements(): number;
  /** Log lines (of the primary and workers) whose message matches. */
  countLogs(re: RegExp): number;
  /** The primary's last error line (why it exited), or its last line. */
  lastError(): string;
  /** SIGKILL the whole process tree at once (primary and workers). */
  killTree(): Promise<void>;
  stop(): Promise<void>;
}

function lastError(server: RunningServer): string {
  const errors = server.logs.filter((l) => (l.Severity ?? 6) <= 3);
  const last = errors[errors.length - 1] ?? server.logs[server.logs.length - 1];
  return (last?.Fields?.message ?? last?.raw ?? server.stderr.join('').slice(-400)).slice(0, 400);
}

const count = (s: RunningServer, re: RegExp) => s.logs.filter((l) => re.test(l.Fields?.message ?? l.raw)).length;

/** Starts a node and waits until every worker listens (rejects if it exits first, or after `timeoutMs`). */
export async function startNode(env: Record<string, string>, port: number, timeoutMs = 60000): Promise<ChaosNode> {
  const server = spawnServer({ WORKERS: '2', ...env, PORT: String(port) }, { detached: true, wrap: (argv) => [argv[0]!, MAIN] });
  live.add(server);
  try {
    await server.waitForLog(/antenna ready/, timeoutMs);
  } catch (err) {
    killGroup(server.proc.pid, 'SIGKILL');
    live.delete(server);
    const why =
      server.proc.exitCode !== null || server.proc.signalCode !== null
        ? `exited before it was ready: ${lastError(server)}`
        : (err as Error).message.split('\n')[0];
    throw new Error(`the node did not start: ${why}`);
  }
  server.port = port;
  server.url = `http://127.0.0.1:${port}`;
  const pid = server.proc.pid!;
  const alive = () => server.proc.exitCode === null && server.proc.signalCode === null;
  return {
    server,
    pid,
    port,
    alive,
    workerPids: () => (alive() ? processTree(pid).filter((p) => p !== pid) : []),
    deaths: () => count(server, /died unexpectedly/),
    replacements: () => count(server, /^replaced worker/),
    countLogs: (re) => count(server, re),
    lastError: () => lastError(server),
    async killTree() {
      killGroup(pid, 'SIGKILL');
      await server.exited;
      live.delete(server);
    },
    async stop() {
      if (!live.has(server)) return;
      await server.stop('SIGTERM', 30000);
      killGroup(pid, 'SIGKILL'); // a worker that outlived its primary
      live.delete(server);
    },
  };
}
