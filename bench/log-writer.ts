/**
 * CPU per log line of the worker's stdout writer, against sonic-boom (pino's
 * writer) when it is installed. `npm run build && tsc -p bench/tsconfig.json
 * && node bench/dist/log-writer.js [lines]`.
 *
 * Each case runs in a child whose stdout is a pipe this process reads, either
 * at once ("fast") or one chunk per millisecond ("slow": a log shipper that
 * lags, so the pipe fills and the writer meets back-pressure). The child logs
 * an access-log line `lines` times, either 100 per event-loop turn ("burst")
 * or one per turn ("turn", as the request path does), waits until all are
 * written, and reports its CPU (process.cpuUsage: every thread, so the
 * thread-pool writes count) minus the same loop without logging.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

interface LineWriter {
  write(line: string): void;
  flush(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '..', '..');
const LINE = JSON.stringify({
  Timestamp: 1764476000000000000,
  Type: 'antenna.access',
  Logger: 'antenna',
  Hostname: 'collector-1.example',
  EnvVersion: '2.0',
  Severity: 6,
  Pid: 12345,
  Fields: {
    host_id: 'collector-1.example',
    message: 'POST /submit 200',
    method: 'POST',
    path: '/submit',
    status: 200,
    bytes_in: 4321,
    duration_ms: 0.4,
    user_agent: 'Crashpad/0.8.0',
  },
});

type SonicBoom = { write(data: string | Buffer): boolean; on(event: string, f: () => void): void };

/** sonic-boom as pino configures it (async, fd 1), in its utf8 (default) or buffer mode. */
function sonicWriter(contentMode: 'utf8' | 'buffer'): LineWriter {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const SonicBoomCtor = require('sonic-boom') as new (o: object) => SonicBoom;
  const s = new SonicBoomCtor({ fd: 1, sync: false, contentMode });
  let busy = false;
  const waiters: Array<() => void> = [];
  const settle = () => {
    busy = false;
    for (const resolve of waiters.splice(0)) resolve();
  };
  s.on('drain', settle);
  s.on('error', settle);
  return {
    write(line) {
      busy = true;
      s.write(contentMode === 'buffer' ? Buffer.from(line + '\n') : line + '\n');
    },
    flush: () => (busy ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve()),
  };
}

function makeWriter(kind: string): LineWriter {
  if (kind === 'collector') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(ROOT, 'dist', 'shared', 'log-writers.js')) as { asyncStdoutWriter(): LineWriter }).asyncStdoutWriter();
  }
  return sonicWriter(kind === 'sonic-boom-buffer' ? 'buffer' : 'utf8');
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function loop(n: number, mode: string, write?: (line: string) => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    write?.(LINE);
    if (mode === 'turn' || i % 100 === 99) await turn();
  }
}

async function child(kind: string, mode: string, n: number): Promise<void> {
  const w = makeWriter(kind);
  const write = (line: string) => w.write(line);
  await loop(2000, mode, write); // warm-up
  await w.flush();
  const t0 = process.cpuUsage();
  await loop(n, mode, write);
  await w.flush();
  const used = process.cpuUsage(t0);
  const b0 = process.cpuUsage();
  await loop(n, mode);
  const base = process.cpuUsage(b0);
  const us = (used.user + used.system - base.user - base.system) / n;
  process.stderr.write(`${JSON.stringify({ usPerLine: us })}\n`);
}

function runCase(kind: string, mode: string, reader: string, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [__filename, '--child', kind, mode, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.stdout.on('data', () => {
      if (reader !== 'slow') return;
      c.stdout.pause();
      setTimeout(() => c.stdout.resume(), 1);
    });
    c.on('exit', (code) => {
      const m = /\{"usPerLine":([\d.-]+)\}/.exec(err);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`${kind} ${mode} ${reader}: exit ${code}: ${err}`));
    });
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3], process.argv[4], Number(process.argv[5]));
  const n = Number(process.argv[2] ?? 200_000);
  const kinds = ['collector'];
  try {
    require.resolve('sonic-boom');
    kinds.push('sonic-boom', 'sonic-boom-buffer');
  } catch {
    process.stderr.write('sonic-boom is not installed: measuring the collector writer only\n');
  }
  const reps = 5;
  process.stdout.write(`CPU µs per line, median of ${reps} runs of ${n} lines (each run: ${kinds.join(', ')} alternated)\n`);
  for (const reader of ['fast', 'slow']) {
    for (const mode of ['burst', 'turn']) {
      const got = new Map<string, number[]>(kinds.map((k) => [k, []]));
      for (let r = 0; r < reps; r++) for (const k of kinds) got.get(k)!.push(await runCase(k, mode, reader, n));
      const cells = kinds.map((k) => {
        const v = got.get(k)!.sort((a, b) => a - b);
        return `${k} ${v[Math.floor(v.length / 2)].toFixed(2)} (${v[0].toFixed(2)}–${v[v.length - 1].toFixed(2)})`;
      });
      process.stdout.write(`${reader} reader, ${mode}: ${cells.join(' | ')}\n`);
    }
  }
}

void main();
