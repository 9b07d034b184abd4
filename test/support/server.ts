import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface LogLine {
  Type?: string;
  Severity?: number;
  Pid?: number;
  Fields?: { message?: string; [k: string]: unknown };
  raw: string;
}

/** How the server process ended. */
type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface RunningServer {
  url: string;
  port: number;
  proc: ChildProcess;
  fsRoot: string;
  logs: LogLine[];
  stderr: string[];
  /** Resolves with the first log line matching `re` (already seen, or later). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code (or signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  exited: Promise<Exit>;
}

export function tempDir(prefix = 'antenna-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs `node dist/main.js` with `env`; `ready` waits until every worker listens. */
export interface SpawnOptions {
  /** Runs the server through another command, e.g. `unshare` to give it a small tmpfs. */
  wrap?: (argv: string[]) => string[];
  /** Own process group, so a test can SIGKILL the whole tree at once. */
  detached?: boolean;
  /** An IPC channel to the primary, as PM2 gives it (`process.send('ready')`). */
  ipc?: boolean;
}

/** The server's output as it arrives: JSON log lines from stdout, raw stderr, and who waits for which line. */
interface Output {
  logs: LogLine[];
  stderr: string[];
  waiters: Array<{ re: RegExp; resolve: (l: LogLine) => void }>;
}

export function spawnServer(env: Record<string, string> = {}, opts: SpawnOptions = {}): RunningServer {
  const fsRoot = env.CRASHMOVER_CRASHSTORAGE_FS_ROOT ?? path.join(tempDir(), 'crashes');
  const argv = [process.execPath, path.join(ROOT, 'dist', 'main.js')];
  const [cmd, ...args] = opts.wrap ? opts.wrap(argv) : argv;
  const proc = spawn(cmd!, args, {
    cwd: ROOT,
    detached: opts.detached,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      WORKERS: '2',
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: fsRoot,
      METADATA_SERVER_DETECTION: 'none',
      ...env,
    },
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(proc);
  const exited = new Promise<Exit>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  return {
    url: '',
    port: 0,
    proc,
    fsRoot,
    logs: output.logs,
    stderr: output.stderr,
    exited,
    waitForLog: (re, timeoutMs = 30000) => waitForLog(output, exited, re, timeoutMs),
    async stop(signal = 'SIGTERM', timeoutMs = 30000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Parses stdout into log lines (JSON, or the raw text as the message) and hands each to the waiters it matches. */
function collectOutput(proc: ChildProcess): Output {
  const output: Output = { logs: [], stderr: [], waiters: [] };
  const { logs, waiters } = output;
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const raw = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = { ...(JSON.parse(raw) as object), raw };
      } catch {
        line = { raw, Fields: { message: raw } };
      }
      logs.push(line);
      for (const w of waiters.slice()) {
        if (w.re.test(line.Fields?.message ?? line.raw)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => output.stderr.push(chunk.toString()));
  return output;
}

/** The first log line matching `re`, already seen or later; rejects on timeout or when the server exits first. */
function waitForLog({ logs, stderr, waiters }: Output, exited: Promise<Exit>, re: RegExp, timeoutMs: number): Promise<LogLine> {
  const seen = logs.find((l) => re.test(l.Fields?.message ?? l.raw));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `no log line matching ${re} within ${timeoutMs} ms; stderr: ${stderr.join('')}; last logs: ${logs
            .slice(-5)
            .map((l) => l.raw)
            .join('\n')}`,
        ),
      );
    }, timeoutMs);
    waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(
          `server exited before logging ${re}; stderr: ${stderr.join('')}; logs: ${logs
            .slice(-10)
            .map((l) => l.raw)
            .join('\n')}`,
        ),
      );
    });
  });
}

/** Starts the server and waits until all its workers listen. */
export async function startServer(env: Record<string, string> = {}, opts: SpawnOptions = {}): Promise<RunningServer> {
  const server = spawnServer(env, opts);
  const listening = await server.waitForLog(/listening on https?:\/\//);
  await server.waitForLog(/antenna ready/);
  const m = /listening on (https?):\/\/([^\s:]+):(\d+)/.exec(listening.Fields!.message!)!;
  server.port = Number(m[3]);
  server.url = `${m[1]}://127.0.0.1:${m[3]}`;
  return server;
}

/**
 * Puts a file where directory `dir` is (moved aside, not deleted), so a save
 * or a storage check under it fails, even for root. A running worker's health
 * check makes its directories again (mkdir -p) whenever it finds them
 * missing, so a file written after a plain move can meet a fresh directory
 * (EISDIR, seen in CI): that one is moved aside too, and the write tried again.
 */
export function replaceDirWithFile(dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(dir, `${dir}.moved-${attempt}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      writeFileSync(dir, 'not a directory', { flag: 'wx' });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EEXIST' && code !== 'EISDIR') || attempt >= 20) throw err;
    }
  }
}

/** Storage outage for `fs`: a file where `v1/` belongs makes every save fail, even for root. */
export function breakFsStorage(fsRoot: string): void {
  mkdirSync(fsRoot, { recursive: true });
  replaceDirWithFile(path.join(fsRoot, 'v1'));
}
