/**
 * `npm run bench:profile`: where each server's CPU goes, per crash, by
 * category, from `perf record` over its whole process tree during the
 * bench's own load. See bench/README.md, "Where the CPU goes".
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attribute, attributionTable, parsePerfScript, type ServerAttribution } from './lib/attribution';
import { crashBody, type CrashBody } from './lib/bodies';
import { meterCpu } from './lib/cpu';
import { runLoad, stopLoad } from './lib/load';
import { parseOptions, SIZES, UsageError, type Options } from './lib/options';
import { processTree } from './lib/rss';
import { killAllNow, removeDataDirs, ROOT, SERVER_KINDS, startServer, type Server, type ServerKind } from './lib/servers';
import { warmUpAfterStart, warmUpWithBody } from './lib/warmup';

/** Samples per second and thread: odd, so it does not beat with 100 Hz and 1 kHz timers. */
const HZ = 1999;

export const PROFILE_USAGE = `Usage: npm run bench:profile -- [options]

Starts each server as the bench does (node with --perf-basic-prof, so perf
can name JavaScript frames), warms it up, then records its whole process
tree with \`perf record -g -e cpu-clock\` during one load run per body and
prints CPU ms per crash by category, servers side by side, with the /proc
figure of the same window. Needs perf (Debian: apt install linux-perf) and
the right to trace (root, or kernel.perf_event_paranoid <= 1).

Takes the bench's options (npm run bench -- --help): --only, --duration,
--workers, --warmup, --warmup-requests, --warmup-each, --warmup-each-requests,
--env. Differences:
servers default to raw-sha,noop; encodings to plain; only the first
connection count is run; antenna is not profiled (its frames are Python).
Writes bench/results/profile.json unless --out says otherwise.
`;

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** Why perf cannot record here, or undefined when it can. */
export function perfUnavailable(): string | undefined {
  const probeDir = mkdtempSync(path.join(os.tmpdir(), 'antenna-perf-probe-'));
  try {
    const r = spawnSync('perf', ['record', '-q', '-e', 'cpu-clock', '-o', path.join(probeDir, 'probe.data'), '--', 'true'], { encoding: 'utf8' });
    if (r.error) return `perf is not installed (${(r.error as NodeJS.ErrnoException).code}): apt install linux-perf, or your distribution's perf package`;
    if (r.status !== 0)
      return `perf cannot record here (exit ${r.status}): ${r.stderr.trim().split('\n').slice(0, 3).join(' ')}. Run as root or set kernel.perf_event_paranoid to 1 or less`;
    return undefined;
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}

/** The bench's options, with this tool's defaults where `--only` names none of an axis. */
export function profileOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const o = parseOptions(argv, env, ROOT);
  if (o === 'help') return o;
  const at = argv.indexOf('--only');
  const only = [at >= 0 ? (argv[at + 1] ?? '') : '', env.BENCH_ONLY ?? ''].join(',').split(',');
  if (!only.some((item) => (SERVER_KINDS as readonly string[]).includes(item))) o.servers = ['raw-sha', 'noop'];
  if (!only.some((item) => item === 'plain' || item === 'gzip')) o.encodings = ['plain'];
  if (o.servers.includes('antenna'))
    throw new UsageError('bench:profile: antenna cannot be profiled by category (its frames are Python); use `npm run bench` for its CPU per crash');
  o.connections = [o.connections[0]!];
  if (!argv.includes('--out') && !env.BENCH_OUT) o.out = path.join(ROOT, 'bench', 'results', 'profile.json');
  return o;
}

interface Column extends ServerAttribution {
  crashes: number;
}

/** One load run on `server` under perf: the samples, attributed, and the /proc CPU of the same window. */
export async function profileRun(server: Server, body: CrashBody, connections: number, durationS: number, dir: string): Promise<Column> {
  const pids = processTree(server.pid);
  const data = path.join(dir, `${server.kind}.data`);
  const perf = spawn('perf', ['record', '-q', '-g', '-e', 'cpu-clock', '-F', String(HZ), '-p', pids.join(','), '-o', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let perfErr = '';
  perf.stderr.on('data', (d: Buffer) => (perfErr += d.toString()));
  const perfExited = new Promise<number | null>((resolve) => perf.on('exit', (code) => resolve(code)));
  // Half a second for perf to attach to every thread before the load starts.
  await new Promise((r) => setTimeout(r, 500));
  const meter = meterCpu(server.pid);
  const load = await runLoad(server.url, body, connections, durationS, { connectionPerRequest: server.closesConnections });
  const procMs = meter.stop();
  perf.kill('SIGINT');
  const code = await perfExited;
  if (code !== 0 && code !== null) throw new Error(`perf record exited ${code}: ${perfErr.trim()}`);
  if (load.ok2xx === 0) throw new Error(`${server.kind}: no crash accepted during the run (${load.non2xx} non-2xx, ${load.errors} errors)`);
  const script = spawnSync('perf', ['script', '-i', data, '-F', 'pid,tid,period,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 4 << 30 });
  if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`);
  // perf samples from the moment it attached to the moment it stopped; the load ran for part of that:
  // the idle margins add a few samples of timers, against thousands per second under load.
  return {
    name: server.kind,
    attribution: attribute(parsePerfScript(script.stdout), HZ, load.ok2xx),
    procMsPerCrash: procMs / load.ok2xx,
    crashes: load.ok2xx,
  };
}

/**
 * Flags for `node` that let perf name JavaScript frames. --perf-basic-prof
 * also turns on V8's log, one `isolate-*-v8.log` per process in the current
 * directory: those go to one file in `dir` instead.
 */
export function profilingFlags(dir: string): string[] {
  return ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${path.join(dir, 'v8.log')}`];
}

/** Stops a server started with profilingFlags and removes the symbol map V8 wrote for each of its processes (always in /tmp, whatever TMPDIR says). */
export async function stopProfiled(server: Server): Promise<void> {
  const pids = processTree(server.pid);
  await server.stop();
  for (const pid of pids) rmSync(`/tmp/perf-${pid}.map`, { force: true });
}

async function main(): Promise<void> {
  let o: Options | 'help';
  try {
    o = profileOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      log(`${err.message}\n\n${PROFILE_USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (o === 'help') {
    process.stdout.write(PROFILE_USAGE);
    return;
  }
  const why = perfUnavailable();
  if (why) {
    log(`bench:profile: ${why}`);
    process.exit(3);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'antenna-bench-profile-'));
  const connections = o.connections[0]!;
  try {
    // One entry per body, each server's column added as it runs.
    const results = new Map<string, { size: string; encoding: string; connections: number; columns: Column[] }>();
    for (const kind of o.servers as ServerKind[]) {
      const server = await startServer(kind, { workers: o.workers, collectorEnv: o.collectorEnv, nodeFlags: profilingFlags(dir) });
      log(`bench:profile: ${kind} ready on port ${server.port}; warming up`);
      try {
        await warmUpAfterStart(server, o, connections);
        for (const size of o.sizes) {
          for (const encoding of o.encodings) {
            const body = crashBody(SIZES[size], encoding);
            await warmUpWithBody(server, body, o, connections);
            log(`bench:profile: ${kind} ${size} ${encoding}, ${connections} connections, ${o.durationS} s under perf`);
            const col = await profileRun(server, body, connections, o.durationS, dir);
            const key = `${size} ${encoding}`;
            if (!results.has(key)) results.set(key, { size, encoding, connections, columns: [] });
            results.get(key)!.columns.push(col);
          }
        }
      } finally {
        await stopProfiled(server);
      }
    }
    for (const { size, encoding, columns } of results.values()) {
      process.stdout.write(
        `\n${size} ${encoding}, ${connections} connections, ${o.workers} workers (crashes: ${columns.map((c) => `${c.name} ${c.crashes}`).join(', ')})\n`,
      );
      process.stdout.write(`${attributionTable(columns)}\n`);
    }
    mkdirSync(path.dirname(o.out), { recursive: true });
    writeFileSync(o.out, JSON.stringify({ hz: HZ, workers: o.workers, durationS: o.durationS, results: [...results.values()] }, null, 2));
    log(`\nbench:profile: results in ${o.out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // The stopped servers' data directories (fs and raw-layout keep each run's crashes: gigabytes).
    removeDataDirs();
  }
}

if (require.main === module) {
  process.on('SIGINT', () => {
    stopLoad();
    killAllNow();
    process.exit(130);
  });
  process.on('exit', killAllNow);
  main().catch((err: Error) => {
    log(`bench:profile: ${err.stack ?? err.message}`);
    killAllNow();
    process.exit(1);
  });
}
