import os from 'node:os';
import path from 'node:path';
import type { Encoding } from './bodies';
import { DEFAULT_SERVER_KINDS, SERVER_KINDS, type ServerKind } from './servers';
import { SETTLE_S } from './settle';

export const SIZES = { '4k': 4 * 1024, '400k': 400 * 1024, '4m': 4 * 1024 * 1024 } as const;
export type SizeName = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];
export const ENCODINGS: readonly Encoding[] = ['plain', 'gzip'];
export const CONNECTIONS: readonly number[] = [16, 64];
/**
 * Requests per connection between reconnects in both warm-ups. A worker of
 * the collector needs ~10,000 requests before V8 has optimised its request
 * path (one worker, 4 KB: 1.07 ms per crash over its first 1,200 requests,
 * 0.29 by 9,600, 0.24 after); long-lived connections reach only the workers
 * they landed on, while a new connection goes to whichever worker is idle.
 */
export const WARMUP_RECONNECT_EVERY = 20;

export interface Options {
  durationS: number;
  /** At most this many seconds of 4 KB load after a server starts... */
  warmupS: number;
  /** ...ended once the server has answered this many requests per worker. */
  warmupRequests: number;
  /** At most this many seconds of unrecorded load with each body before a server's first run with it in a round... */
  warmupEachS: number;
  /** ...ended once the server has answered this many of them per worker. */
  warmupEachRequests: number;
  workers: number;
  sizes: SizeName[];
  encodings: Encoding[];
  connections: number[];
  servers: ServerKind[];
  out: string;
  quick: boolean;
  /** Rounds of every load point; the table and targets judge each point's median. */
  repeat: number;
  /** Leave the durable servers' (emptied) data directories at the end instead of removing them. */
  keepData: boolean;
  /** Seconds after an earlier bench removed its files before a durable server's first run may start (settle.ts); 0 = at once. */
  settleS: number;
  collectorEnv: Record<string, string>;
  /** The shell command that starts Mozilla's Antenna (`{port}`, `{workers}` filled in), for the `antenna` server. */
  antennaCmd?: string;
}

export const USAGE = `Usage: npm run bench -- [options]

Starts the collector (noop and fs storage) and the reference servers raw and
raw-durable with the same worker count, loads each with the same crash bodies
and prints a table and the targets. Environment variables in brackets.

  --duration S       seconds of load per run (default 10) [BENCH_DURATION]
  --quick            3 s runs, plain bodies, 16 connections only (~1.5 min);
                     --duration/--only given as well still apply [BENCH_QUICK=1]
  --workers N        workers of every server (default 2 x CPUs + 1, the
                     collector's default) [BENCH_WORKERS]
  --only LIST        comma-separated subset; each item narrows its own axis:
                     sizes 4k,400k,4m  encodings plain,gzip  connections 16,64
                     (any number)  servers raw,noop,raw-durable,fs, and
                     raw-sha (reads and sha256s each body: the floor of any
                     collector's CPU) and raw-layout (saves each body in fs
                     storage's layout: the floor of fs) and antenna
                     (Mozilla's Antenna, the anchor of the CPU targets:
                     needs --antenna-cmd), which run only when named
                     e.g. --only 400k,gzip,noop,raw [BENCH_ONLY]
  --out FILE         JSON results (default bench/results/latest.json) [BENCH_OUT]
  --warmup S         at most S seconds of 4 KB load after each server starts
                     (default 30), ended early once every worker has had
                     --warmup-requests of them on average; its connections
                     reconnect every ${WARMUP_RECONNECT_EVERY} requests so that every
                     worker gets requests; not recorded
  --warmup-requests N  requests per worker that end that warm-up (default
                     10000: a worker of the collector needs about that many
                     before V8 has optimised its request path)
  --warmup-each S    at most S seconds of load with each body (size and
                     encoding) before a server's first run with it in a
                     round (default 30; 5 with --quick; 0 skips it), ended
                     early once every worker has had --warmup-each-requests
                     of them on average; over reconnecting connections too,
                     not recorded
  --warmup-each-requests N  requests per worker that end each body's
                     warm-up (default 2000: fs at 400 KB was still being
                     optimised after 300; 0 makes it run all S seconds)
  --repeat N         run every load point N times, in N rounds of all points
                     and servers (started afresh each round), and judge each
                     point on its median (default 1; 3 steadies a noisy
                     machine) [BENCH_REPEAT]
  --keep-data        leave the durable servers' data directories (their
                     files emptied) at the end and print where they are, so
                     a bench that follows at once does not pay for their
                     deletion (see "How a run goes" in bench/README.md);
                     remove them yourself afterwards [BENCH_KEEP_DATA=1]
  --settle S         when an earlier bench removed its files less than S
                     seconds ago (default 360, at most 360; 0 never waits),
                     wait out the rest before the first run of raw-durable,
                     raw-layout or fs, on an ext4 without a journal only,
                     where creating files scans past recently removed ones
                     (see "How a run goes" in bench/README.md) [BENCH_SETTLE]
  --env KEY=VALUE    extra environment for the collector (repeatable),
                     e.g. --env LOGGING_LEVEL=WARNING
  --antenna-cmd CMD  shell command that starts Mozilla's Antenna under
                     gunicorn on 127.0.0.1, in the foreground; {port} and
                     {workers} are replaced (also in its env as PORT and
                     WORKERS). Your own checkout: none is shipped here; see
                     "Antenna side by side" in bench/README.md
                     [BENCH_ANTENNA_CMD]
  -h, --help         this text
`;

export class UsageError extends Error {}

function positive(name: string, raw: string | undefined, integer = false): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} expects a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** --settle / BENCH_SETTLE: 0 (never wait) to SETTLE_S seconds; longer would wait for nothing. */
function settle(name: string, raw: string): number {
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || n < 0 || n > SETTLE_S) throw new UsageError(`${name} expects 0 to ${SETTLE_S} seconds, got ${JSON.stringify(raw)}`);
  return n;
}

function applyOnly(list: string, o: Options): void {
  const sizes: SizeName[] = [];
  const encodings: Encoding[] = [];
  const connections: number[] = [];
  const servers: ServerKind[] = [];
  for (const raw of list
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean)) {
    const t = raw.replace(/b$/, ''); // 4kb, 400kb, 4mb
    if ((SIZE_NAMES as string[]).includes(t)) sizes.push(t as SizeName);
    else if ((ENCODINGS as string[]).includes(raw)) encodings.push(raw as Encoding);
    else if ((SERVER_KINDS as string[]).includes(raw)) servers.push(raw as ServerKind);
    else if (/^\d+$/.test(raw)) connections.push(positive('--only connections', raw, true));
    else
      throw new UsageError(
        `--only: unknown item ${JSON.stringify(raw)} (sizes ${SIZE_NAMES.join('/')}, encodings ${ENCODINGS.join('/')}, a connection count, servers ${SERVER_KINDS.join('/')})`,
      );
  }
  if (sizes.length) o.sizes = SIZE_NAMES.filter((s) => sizes.includes(s));
  if (encodings.length) o.encodings = ENCODINGS.filter((e) => encodings.includes(e));
  if (connections.length) o.connections = [...new Set(connections)].sort((a, b) => a - b);
  if (servers.length) o.servers = SERVER_KINDS.filter((s) => servers.includes(s));
}

export function defaultWorkers(): number {
  return 2 * Math.max(1, os.availableParallelism?.() ?? os.cpus().length) + 1;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv, root: string): Options | 'help' {
  const o: Options = {
    durationS: 10,
    warmupS: 30,
    warmupRequests: 10_000,
    warmupEachS: 30,
    warmupEachRequests: 2_000,
    workers: defaultWorkers(),
    sizes: [...SIZE_NAMES],
    encodings: [...ENCODINGS],
    connections: [...CONNECTIONS],
    servers: [...DEFAULT_SERVER_KINDS],
    out: path.join(root, 'bench', 'results', 'latest.json'),
    quick: env.BENCH_QUICK === '1' || argv.includes('--quick'),
    repeat: 1,
    keepData: env.BENCH_KEEP_DATA === '1' || argv.includes('--keep-data'),
    settleS: SETTLE_S,
    collectorEnv: {},
  };
  if (o.quick) {
    o.durationS = 3;
    o.warmupEachS = 5;
    o.encodings = ['plain'];
    o.connections = [16];
  }
  if (env.BENCH_DURATION) o.durationS = positive('BENCH_DURATION', env.BENCH_DURATION);
  if (env.BENCH_WORKERS) o.workers = positive('BENCH_WORKERS', env.BENCH_WORKERS, true);
  if (env.BENCH_REPEAT) o.repeat = positive('BENCH_REPEAT', env.BENCH_REPEAT, true);
  if (env.BENCH_OUT) o.out = path.resolve(env.BENCH_OUT);
  if (env.BENCH_ONLY) applyOnly(env.BENCH_ONLY, o);
  if (env.BENCH_ANTENNA_CMD) o.antennaCmd = env.BENCH_ANTENNA_CMD;
  if (env.BENCH_SETTLE) o.settleS = settle('BENCH_SETTLE', env.BENCH_SETTLE);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--quick':
      case '--keep-data':
        break;
      case '--duration':
        o.durationS = positive('--duration', value());
        break;
      case '--warmup':
        o.warmupS = Number(value());
        if (!(o.warmupS >= 0)) throw new UsageError('--warmup expects 0 or more seconds');
        break;
      case '--warmup-requests':
        o.warmupRequests = Number(value());
        if (!(Number.isInteger(o.warmupRequests) && o.warmupRequests >= 0))
          throw new UsageError('--warmup-requests expects a whole number of requests per worker, 0 or more');
        break;
      case '--warmup-each':
        o.warmupEachS = Number(value());
        if (!(o.warmupEachS >= 0)) throw new UsageError('--warmup-each expects 0 or more seconds');
        break;
      case '--warmup-each-requests':
        o.warmupEachRequests = Number(value());
        if (!(Number.isInteger(o.warmupEachRequests) && o.warmupEachRequests >= 0))
          throw new UsageError('--warmup-each-requests expects a whole number of requests per worker, 0 or more');
        break;
      case '--workers':
        o.workers = positive('--workers', value(), true);
        break;
      case '--only':
        applyOnly(value(), o);
        break;
      case '--repeat':
        o.repeat = positive('--repeat', value(), true);
        break;
      case '--out':
        o.out = path.resolve(value());
        break;
      case '--env': {
        const kv = value();
        const k = kv.indexOf('=');
        if (k <= 0) throw new UsageError(`--env expects KEY=VALUE, got ${JSON.stringify(kv)}`);
        o.collectorEnv[kv.slice(0, k)] = kv.slice(k + 1);
        break;
      }
      case '--antenna-cmd':
        o.antennaCmd = value();
        break;
      case '--settle':
        o.settleS = settle('--settle', value());
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (o.servers.includes('antenna') && !o.antennaCmd?.trim()) {
    throw new UsageError(
      'the antenna server needs the command that starts it: --antenna-cmd "<start command with {port} and {workers}>" (or BENCH_ANTENNA_CMD); see "Antenna side by side" in bench/README.md',
    );
  }
  if (o.workers > 64) throw new UsageError('--workers: at most 64');
  if (o.repeat > 10) throw new UsageError('--repeat: at most 10');
  return o;
}
