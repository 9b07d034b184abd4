/**
 * Per-crash CPU of the observability and answer path, each piece alone, in
 * the collector's own code (dist/, so `npm run build` first): the answer
 * (`CrashID=`), the access-log line, the other log lines of an accepted crash,
 * StatsD (hot-shots to a UDP port of a child process that discards) and
 * Prometheus updates. `tsc -p bench/tsconfig.json && node bench/dist/overhead.js
 * [iterations] > /dev/null`: the log lines go to stdout through the worker's
 * writer, the table to stderr.
 *
 * Each item runs `iterations` times after a warm-up; CPU is process.cpuUsage
 * (every thread) per iteration, minus the same loop around an empty step.
 * The metric calls are those one accepted 4 KB crash makes (captured from a
 * worker with STATSD_HOST set).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';

const ROOT = path.resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = <T>(rel: string): T => require(path.join(ROOT, 'dist', rel)) as T;

type Fields = Record<string, unknown>;
interface Logger {
  info(message: string, fields?: Fields): void;
  child(d: { type: string }): Logger;
}
interface Metrics {
  incr(name: string, tags?: string[], value?: number): void;
  gauge(name: string, value: number, tags?: string[]): void;
  timing(name: string, ms: number, tags?: string[]): void;
  histogram(name: string, value: number, tags?: string[]): void;
  close(): Promise<void>;
}

// flush() is absent from builds before the logger owned its writer (bench/overhead.js can run against an older dist/).
const { createLogger } = load<{ createLogger(o: object): Logger & { flush?(): Promise<void> } }>('shared/logging.js');
const { accessLog } = load<{ accessLog(o: object): (req: unknown, res: unknown, next: () => void) => void }>('worker/access-log.js');
const { sendText } = load<{ sendText(res: ServerResponse, status: number, body: string): void }>('worker/breakpad/respond.js');
const { createStatsdMetrics } = load<{ createStatsdMetrics(o: object): Metrics }>('shared/metrics/statsd.js');
const { createWorkerPrometheus } = load<{ createWorkerPrometheus(o: object): { metrics: Metrics; close(): void } }>('worker/metrics/prometheus.js');

/** The metric calls of one accepted crash (4 KB, plain, accept_everything, noop storage and publisher). */
function crashMetrics(m: Metrics): void {
  m.histogram('collector.breakpad_resource.crash_size', 4000, ['payload:uncompressed']);
  m.incr('collector.breakpad_resource.incoming_crash');
  m.incr('collector.breakpad_resource.throttle_rule', ['rule:accept_everything']);
  m.incr('collector.breakpad_resource.throttle', ['result:accept', 'rule:accept_everything']);
  m.timing('collector.crashmover.crash_save.time', 0.0123);
  m.timing('collector.crashmover.crash_publish.time', 0.0045);
  m.incr('collector.crashmover.save_crash.count');
  m.timing('collector.crashmover.crash_handling.time', 0.31);
  m.timing('collector.breakpad_resource.on_post.time', 0.52);
}

const CRASH_ID = 'b08f9e7e-3afb-4a93-9a52-238700261130';

/** A connection that takes every byte and does nothing with it. */
function sinkSocket(): Socket {
  const d = new Duplex({ write: (_c, _e, cb) => cb(), read() {} }) as unknown as Socket;
  Object.assign(d, { remoteAddress: '127.0.0.1', bytesRead: 0 });
  return d;
}

function newRequest(socket: Socket): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = 'POST';
  req.url = '/submit';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.headers = { 'user-agent': 'Breakpad/1.0 (Windows)', 'content-type': 'multipart/form-data; boundary=x', 'content-length': '4000' };
  return req;
}

function udpSink(): Promise<{ port: number; proc: ChildProcess }> {
  const script = `const s=require('dgram').createSocket('udp4');s.on('message',()=>{});s.bind(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'));`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  process.on('exit', () => proc.kill());
  return new Promise((resolve) => proc.stdout!.once('data', (d: Buffer) => resolve({ port: Number(d.toString()), proc })));
}

/** A loopback TCP connection to a child process that reads and discards. */
function tcpPeer(): Promise<{ socket: Socket; proc: ChildProcess }> {
  const script = `const s=require('net').createServer((c)=>c.resume());s.listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'));`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  process.on('exit', () => proc.kill());
  return new Promise((resolve) =>
    proc.stdout!.once('data', (d: Buffer) => {
      const socket = connect(Number(d.toString()), '127.0.0.1', () => resolve({ socket, proc }));
    }),
  );
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** CPU µs per call of `step` (one crash's worth), minus the loop around it. */
async function measure(n: number, step: (i: number) => void): Promise<number> {
  const run = async (f: (i: number) => void) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      f(i);
      // Let asynchronous work (log writes, UDP sends) happen as it would between requests.
      if (i % 64 === 63) await turn();
    }
    await turn();
    const d = process.cpuUsage(t0);
    return d.user + d.system;
  };
  await run(step); // warm-up
  const used = await run(step);
  const empty = await run(() => {});
  return (used - empty) / n;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const logger = createLogger({ level: 'INFO', localDevEnv: false, hostname: 'collector-1.example', asyncStdout: true });
  const sink = await udpSink();
  const statsdWith = (aggregationIntervalMs: number) =>
    createStatsdMetrics({
      host: '127.0.0.1',
      port: sink.port,
      namespace: 'socorro',
      hostname: 'collector-1.example',
      role: 'worker',
      logger: logger.child({ type: 'antenna.metrics' }),
      aggregationIntervalMs,
    });
  // STATSD_AGGREGATION_INTERVAL_MS: its default, and 0 (a line per call, as Antenna).
  const statsd = statsdWith(1000);
  const statsdPerCall = statsdWith(0);
  const prom = createWorkerPrometheus({ inFlight: () => 0, bodyBytesInMemory: () => 0 });
  const access = accessLog({ logger: logger.child({ type: 'antenna.access' }), includeClientIp: false });
  const resource = logger.child({ type: 'antenna.breakpad_resource' });
  const crashmover = logger.child({ type: 'antenna.crashmover' });
  const socket = sinkSocket();

  const results: Array<[string, number]> = [];
  const only = process.env.ONLY;
  /** `base`: a step whose cost is not the item's (making the objects it works on), subtracted. */
  const item = async (name: string, step: (i: number) => void, base?: (i: number) => void) => {
    if (only && !name.toLowerCase().includes(only.toLowerCase())) return;
    results.push([name, (await measure(n, step)) - (base ? await measure(n, base) : 0)]);
    process.stderr.write(`${name.padEnd(58)} ${results[results.length - 1]![1].toFixed(2)} µs\n`);
  };

  // The answer: sendText on a fresh response per crash, written to a real
  // loopback connection (its write(2) included), minus making the response.
  const peer = await tcpPeer();
  const fresh = () => {
    const res = new ServerResponse(newRequest(peer.socket));
    res.assignSocket(peer.socket);
    return res;
  };
  await item(
    'respond (CrashID answer on a TCP connection)',
    () => {
      const res = fresh();
      sendText(res, 200, `CrashID=bp-${CRASH_ID}\n`);
      res.detachSocket(peer.socket);
    },
    () => fresh().detachSocket(peer.socket),
  );

  await item('access log (middleware, finish, one line)', () => {
    const res = new EventEmitter() as EventEmitter & { statusCode: number; writableFinished: boolean };
    res.statusCode = 200;
    res.writableFinished = true;
    const req = { method: 'POST', url: '/submit', headers: { 'user-agent': 'Breakpad/1.0 (Windows)' }, socket };
    access(req, res, () => {});
    res.emit('finish');
    res.emit('close');
  });
  await item('the 3 other log lines of an accepted crash', () => {
    resource.info(`${CRASH_ID}: matched by accept_everything; returned ACCEPT`);
    crashmover.info(`${CRASH_ID} saved`);
    crashmover.info(`${CRASH_ID} published`);
  });
  await item('StatsD: the 9 metric calls of a crash', () => crashMetrics(statsd));
  await item('StatsD, STATSD_AGGREGATION_INTERVAL_MS=0: the 9 calls', () => crashMetrics(statsdPerCall));
  await item('Prometheus: the 9 metric calls of a crash', () => crashMetrics(prom.metrics));

  await logger.flush?.();
  await statsd.close();
  await statsdPerCall.close();
  prom.close();
  sink.proc.kill();
  peer.socket.destroy();
  peer.proc.kill();
  process.stderr.write(`${JSON.stringify({ iterations: n, usPerCrash: Object.fromEntries(results.map(([k, v]) => [k, Number(v.toFixed(2))])) })}\n`);
}

void main();
