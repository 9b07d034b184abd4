import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { countFiles, noteRemoval } from './settle';

export type ServerKind = 'raw' | 'raw-sha' | 'noop' | 'raw-durable' | 'raw-layout' | 'fs' | 'antenna';
/** Every server, in the order a load point runs them. */
export const SERVER_KINDS: readonly ServerKind[] = ['raw', 'raw-sha', 'noop', 'raw-durable', 'raw-layout', 'fs', 'antenna'];
/**
 * What runs unless --only names servers: raw-sha and raw-layout (the floors) and antenna (the
 * anchor, which needs a checkout of Mozilla's Antenna: --antenna-cmd) only when asked for.
 */
export const DEFAULT_SERVER_KINDS: readonly ServerKind[] = ['raw', 'noop', 'raw-durable', 'fs'];

/** The repository root: the nearest directory above this file with a package.json (bench/dist/lib → /). */
function findRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) throw new Error(`no package.json above ${dir}`);
  }
}
export const ROOT = findRoot(__dirname);

export interface Server {
  kind: ServerKind;
  /** What it is, for the table. */
  label: string;
  pid: number;
  port: number;
  url: string;
  /** Where fs / raw-durable / raw-layout store crashes (undefined for raw and noop). */
  dataDir?: string;
  /**
   * It closes the connection after every answer (gunicorn's sync workers do), so the load
   * opens one connection per request (LoadShape.connectionPerRequest).
   */
  closesConnections: boolean;
  /** The last lines it printed (stdout and stderr), for error messages. */
  tail(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  stop(): Promise<void>;
}

const REFERENCE_LABEL = {
  raw: 'raw (read body, answer)',
  'raw-sha': 'raw-sha (read body, sha256 it, answer)',
  'raw-durable': 'raw-durable (+ 1 file, fsync, rename)',
  'raw-layout': "raw-layout (+ fs storage's 3 files and 2 commits)",
} as const;

/** Every server started and not yet stopped: stopped on exit, Ctrl-C or error. */
const live = new Set<{ proc: ChildProcess; tmp: string }>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The directories of servers already stopped, removed only by removeDataDirs() at the end:
 * deleting a round's files at once would slow the next round's durable servers for a
 * minute or more (verify.ts, emptyFiles, says why). Their files are already empty.
 */
const stoppedDirs = new Set<string>();

/**
 * Removes the directories of every server stopped so far (or, with `keep`, only forgets them), and returns them.
 * A removal of many files is noted, so that a bench started soon after waits for it to settle (settle.ts).
 */
export function removeDataDirs(keep = false): string[] {
  const dirs = [...stoppedDirs];
  if (!keep) {
    let files = 0;
    for (const dir of dirs) {
      files += countFiles(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    noteRemoval(files);
  }
  stoppedDirs.clear();
  return dirs;
}

/** Last resort (process 'exit'): SIGKILL every server's process group, remove temp dirs. Synchronous. */
export function killAllNow(): void {
  for (const s of live) {
    if (s.proc.pid) killGroup(s.proc.pid, 'SIGKILL');
    rmSync(s.tmp, { recursive: true, force: true });
  }
  live.clear();
  removeDataDirs();
}

/** A port free on 127.0.0.1 right now (the server gets it as PORT). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function heartbeatOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/__lbheartbeat__', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export interface StartOptions {
  workers: number;
  /** Extra environment for the collector (`--env KEY=VALUE`). */
  collectorEnv: Record<string, string>;
  /** `--antenna-cmd`: the shell command that starts Antenna, with `{port}` and `{workers}` filled in. */
  antennaCmd?: string;
  /** Flags for `node` itself, before the script, for the Node servers (`--perf-basic-prof`): their workers inherit them. */
  nodeFlags?: string[];
  timeoutMs?: number;
}

/** The shell command that starts Antenna on `port` with `workers` workers. */
export function antennaCommand(template: string, port: number, workers: number): string {
  return template.replace(/\{port\}/g, String(port)).replace(/\{workers\}/g, String(workers));
}

/**
 * Starts one server in its own process group (so the whole tree can be
 * killed at once) on a free port, and resolves when every worker listens:
 * when it prints its ready line or, should it not (the collector with
 * LOGGING_LEVEL above INFO), 3 s after /__lbheartbeat__ first answers.
 */
export async function startServer(kind: ServerKind, opts: StartOptions): Promise<Server> {
  const port = await freePort();
  const tmp = mkdtempSync(path.join(os.tmpdir(), `antenna-bench-${kind}-`));
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), WORKERS: String(opts.workers) };
  let argv: string[];
  let env: Record<string, string>;
  let dataDir: string | undefined;
  let ready: RegExp;
  let label: string;
  let program = process.execPath;
  if (kind === 'antenna') {
    if (!opts.antennaCmd) throw new Error('antenna: no command to start it (--antenna-cmd or BENCH_ANTENNA_CMD)');
    // exec: the shell becomes the command, so SIGTERM reaches gunicorn's master, which stops its workers.
    program = '/bin/sh';
    argv = ['-c', `exec ${antennaCommand(opts.antennaCmd, port, opts.workers)}`];
    env = { ...base, HOME: process.env.HOME ?? os.homedir() };
    // No ready line to wait for: ready 3 s after /__lbheartbeat__ first answers 200 (below).
    ready = /(?!)/;
    label = "Mozilla's Antenna (gunicorn, sync workers)";
  } else if (kind === 'raw' || kind === 'raw-sha' || kind === 'raw-durable' || kind === 'raw-layout') {
    argv = [...(opts.nodeFlags ?? []), path.join(ROOT, 'bench', 'servers', `${kind}.js`)];
    env = { ...base };
    if (kind === 'raw-durable') env.DURABLE_DIR = dataDir = tmp;
    if (kind === 'raw-layout') env.LAYOUT_DIR = dataDir = tmp;
    ready = /listening on http:\/\/[^:\s]+:(\d+)/;
    label = REFERENCE_LABEL[kind];
  } else {
    argv = [...(opts.nodeFlags ?? []), path.join(ROOT, 'dist', 'main.js')];
    env = {
      ...base,
      CRASHMOVER_CRASHSTORAGE_CLASS: kind,
      CRASHMOVER_CRASHPUBLISH_CLASS: 'noop',
      METADATA_SERVER_DETECTION: 'none',
      ...opts.collectorEnv,
    };
    if (kind === 'fs') env.CRASHMOVER_CRASHSTORAGE_FS_ROOT = dataDir = tmp;
    ready = /antenna ready/;
    label = `collector, ${kind} storage`;
  }
  const proc = spawn(program, argv, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { proc, tmp };
  live.add(entry);

  const lines: string[] = [];
  const remember = (l: string) => {
    lines.push(l);
    if (lines.length > 300) lines.shift();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  const found = new Promise<void>((resolve, reject) => {
    let buffered = '';
    let done = false;
    const limitMs = opts.timeoutMs ?? 60000;
    const timer = setTimeout(() => finish(new Error(`${kind} did not become ready within ${limitMs / 1000} s`)), limitMs);
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    // After start-up the collector logs one access-log line per request: keep
    // reading (a full pipe would block its workers) but only keep a tail.
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        remember(line);
        if (!done && ready.test(line)) finish();
      }
      if (buffered.length > 65536) buffered = buffered.slice(-65536);
    });
    proc.stderr!.on('data', (chunk: Buffer) => remember(chunk.toString().trimEnd()));
    void exited.then(({ code, signal }) => finish(new Error(`${kind} exited (${code ?? signal}) before it was ready`)));
    void (async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, 250));
        if (!done && (await heartbeatOk(port))) {
          setTimeout(() => finish(), 3000);
          return;
        }
      }
    })();
  });

  const stop = async () => {
    if (!live.has(entry)) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(proc.pid!, 'SIGKILL'), 40000);
    await exited;
    clearTimeout(timer);
    killGroup(proc.pid!, 'SIGKILL'); // a worker that outlived its primary
    stoppedDirs.add(tmp);
    live.delete(entry);
  };

  return found.then(
    () => {
      return {
        kind,
        label,
        pid: proc.pid!,
        port,
        url: `http://127.0.0.1:${port}`,
        dataDir,
        closesConnections: kind === 'antenna',
        tail: () => lines.join('\n'),
        exited,
        running: () => proc.exitCode === null && proc.signalCode === null,
        stop,
      };
    },
    async (err: Error) => {
      const tail = lines.join('\n');
      await stop();
      throw new Error(`${err.message}\n--- last output ---\n${tail}`);
    },
  );
}
