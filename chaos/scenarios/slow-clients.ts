/**
 * Slow clients: hundreds of slowloris connections (headers trickled one line
 * every 2 s), crash bodies trickled a few hundred bytes at a time, and bodies
 * that stall halfway — while /__lbheartbeat__ is probed. The node must keep
 * answering probes and normal crashes; trickled crashes that complete get 200
 * and are stored; a stalled body gets 408 once BREAKPAD_BODY_TIMEOUT_SECONDS
 * passes (5 s here, to stay within the scenario).
 */
import net from 'node:net';
import path from 'node:path';
import { loadCrash } from '../lib/corpus';
import { submitLoad, loadExpect } from '../lib/load';
import { chaosTemp, freePort, startNode } from '../lib/node';
import { finishScenario, probe, workerEvents, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { Tally } from '../lib/tally';
import { audit, fsReader } from '../lib/verify';
import { exchange } from '../lib/wire';

const SLOWLORIS = 300;
const TRICKLERS = 100;
const STALLERS = 50;

/**
 * How long slowloris connections keep trickling: past HTTP_HEADERS_TIMEOUT_MS
 * (20 s) plus Node's 30 s interval for checking it, so the run shows whether
 * the node ever cuts them.
 */
const SLOWLORIS_S = 55;

/** Opens a connection that sends one header line every 2 s until `until`; resolves with what became of it (and when, in s). */
function slowloris(port: number, until: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const opened = Date.now();
    let outcome = 'still open when the client gave up';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('connect', () => {
      socket.write('POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      timer = setInterval(() => (Date.now() > until ? done() : socket.write(`X-Slow-${Date.now()}: 1\r\n`)), 2000);
    });
    socket.on('data', (d: Buffer) => {
      outcome = `answered ${/^HTTP\/1\.[01] (\d{3})/.exec(d.toString('latin1'))?.[1] ?? '?'} after ${Math.round((Date.now() - opened) / 10000) * 10} s`;
    });
    socket.on('close', () => {
      if (outcome.startsWith('still open') && Date.now() <= until) outcome = `closed by the server after ${Math.round((Date.now() - opened) / 10000) * 10} s`;
      done();
    });
    socket.on('error', () => undefined);
  });
}

/** Cuts a request's bytes into `size`-byte pieces. */
function pieces(request: { pieces: Buffer[] }, size: number): Buffer[] {
  const all = Buffer.concat(request.pieces);
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

export async function slowClients(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const root = path.join(chaosTemp('slow'), 'crashes');
  const port = await freePort();
  const node = await startNode({ CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root, BREAKPAD_BODY_TIMEOUT_SECONDS: '5' }, port);
  const tally = new Tally();
  const failures: string[] = [];
  const notes: string[] = [];
  const hb = probe(port);
  const end = Date.now() + o.durationS * 1000;
  const seed = o.seed + 5;
  const outcomes = new Map<string, number>();
  const loris = Array.from({ length: SLOWLORIS }, () =>
    slowloris(port, Math.max(end, Date.now() + SLOWLORIS_S * 1000)).then((r) => outcomes.set(r, (outcomes.get(r) ?? 0) + 1)),
  );
  // Trickled crashes use load numbers from 100000 up, stalled ones from 200000, normal ones from 0.
  let trickled = 0;
  const tricklers = Array.from({ length: TRICKLERS }, async (_, k) => {
    for (let round = 0; Date.now() < end - 12000 && round < 5; round++) {
      const i = 100000 + k * 10 + round;
      const req = loadCrash(seed, i).request;
      const answer = await exchange(port, { pieces: pieces(req, 8192), gapMs: 100 }, 60000);
      tally.record(answer, `load#${i}`);
      trickled++;
    }
  });
  const stalled = new Map<string, number>();
  const stallers = Array.from({ length: STALLERS }, async (_, k) => {
    const req = pieces(loadCrash(seed, 200000 + k).request, 1024);
    const answer = await exchange(port, { pieces: req, stallAfter: Math.max(1, req.length >> 1) }, 20000);
    const key = answer.status ? String(answer.status) : `no answer (${answer.noAnswer})`;
    stalled.set(key, (stalled.get(key) ?? 0) + 1);
  });
  await submitLoad(port, seed, tally, { clients: 2, stop: () => Date.now() > end, maxTotal: 20000, gapMs: 100 });
  await Promise.all([...loris, ...tricklers, ...stallers]);
  const probeStats = await hb.stop();
  notes.push(`slowloris ×${SLOWLORIS} (one header line every 2 s for up to ${SLOWLORIS_S} s): ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  notes.push(`stalled bodies ×${STALLERS}: ${[...stalled].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  notes.push(`${trickled} crashes trickled (8 KiB every 100 ms)`);
  if (probeStats.failures > 0) failures.push(`${probeStats.failures} of ${probeStats.samples} /__lbheartbeat__ probes failed or took over 2 s`);
  if (tally.fiveXx > 0 || tally.unanswered > 0)
    failures.push(`${tally.fiveXx} crashes got 5xx and ${tally.unanswered} no answer beside the slow clients (${tally.non2xx()}; ${tally.noAnswerText()})`);
  const stalled408 = stalled.get('408') ?? 0;
  if (stalled408 < STALLERS) failures.push(`${STALLERS - stalled408} stalled bodies did not get 408`);
  if (!node.alive()) failures.push('the node exited');
  const result = await audit(fsReader(root), tally.acked, loadExpect(seed));
  const { deaths, replacements } = workerEvents([node]);
  if (deaths > 0) failures.push(`${deaths} workers died`);
  await node.stop();
  return finishScenario(started, {
    name: 'slow-clients',
    tally,
    audit: result,
    kills: 0,
    deaths,
    replacements,
    probe: probeStats,
    failures,
    notes,
  });
}
