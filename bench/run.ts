/**
 * `npm run bench`: the collector against two reference servers under the
 * same load. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crashBody, type CrashBody } from './lib/bodies';
import { sampleHeartbeat } from './lib/heartbeat';
import { runLoad, stopLoad } from './lib/load';
import { parseOptions, SIZE_NAMES, SIZES, USAGE, UsageError, type Options, type SizeName } from './lib/options';
import { chartTitle, renderChart } from './lib/chart';
import { computeRatios, evaluateTargets, formatTable, formatTargets, type RunRecord } from './lib/report';
import { medianRuns } from './lib/repeat';
import { inflateCpuMs, meterCpu } from './lib/cpu';
import { sampleRss, treeRss } from './lib/rss';
import { killAllNow, removeDataDirs, ROOT, startServer, type Server, type ServerKind } from './lib/servers';
import { readRemovalNote, scansRemovedInodesHere, settlePlan } from './lib/settle';
import { emptyFiles, verifyDurableFiles, verifyFsCrashes } from './lib/verify';
import { warmUpAfterStart, warmUpWithBody } from './lib/warmup';

const MB = 1e6;
let aborted = false;
const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`${msg.replace(/^bench:/, `bench [+${((Date.now() - t0) / 1000).toFixed(1)}s]:`)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

async function measure(server: Server, size: SizeName, body: CrashBody, connections: number, o: Options): Promise<RunRecord> {
  const rss = sampleRss(server.pid, 200);
  const hb = size === '4m' ? sampleHeartbeat(server.port, 10) : undefined;
  const cpu = meterCpu(server.pid);
  const load = await runLoad(server.url, body, connections, o.durationS, { connectionPerRequest: server.closesConnections });
  const cpuMs = cpu.stop();
  const heartbeat = await hb?.stop();
  const peak = rss.stop();
  const record: RunRecord = {
    size,
    bodyBytes: body.size,
    wireBytes: body.body.length,
    encoding: body.encoding,
    connections,
    server: server.kind,
    durationS: load.durationS,
    ok2xx: load.ok2xx,
    non2xx: load.non2xx,
    errors: load.errors,
    timeouts: load.timeouts,
    statusCodes: load.statusCodes,
    unexpectedBodies: load.unexpectedBodies,
    crashesPerS: load.ok2xx / load.durationS,
    mbPerS: (load.ok2xx * body.body.length) / load.durationS / MB,
    latencyP50Ms: load.latencyP50Ms,
    latencyP99Ms: load.latencyP99Ms,
    latencyMaxMs: load.latencyMaxMs,
    cpuMs,
    cpuMsPerCrash: load.ok2xx > 0 ? cpuMs / load.ok2xx : NaN,
    peakRssBytes: peak.peakBytes,
    rssProcesses: peak.processes,
    rssPrimaryBytes: peak.rootBytes,
    rssLargestWorkerBytes: peak.largestChildBytes,
    rssBudgetBytes: 100 * MB * o.workers + 2 * connections * body.size,
    heartbeat,
  };
  if (server.dataDir) {
    // Checked as soon as the load stops: fs acknowledges only after the save.
    record.verification =
      server.kind === 'fs' || server.kind === 'raw-layout'
        ? await verifyFsCrashes(server.dataDir, load.crashIds, server.kind === 'fs' ? body.dumpBytes : body.body.length)
        : await verifyDurableFiles(server.dataDir, load.crashIds, body.body.length);
    await emptyFiles(server.dataDir);
  }
  return record;
}

interface ServerInfo {
  server: ServerKind;
  label: string;
  idleRssBytes: number;
  processes: number;
  primaryIdleRssBytes: number;
  largestWorkerIdleRssBytes: number;
}

/** Set while the bench stops servers itself, so that their exits are not reported as crashes. */
let stopping = false;

/** Starts every server of the run, warms each up and, when `info` is given, records its idle RSS there. */
async function startServers(o: Options, servers: Map<ServerKind, Server>, info: ServerInfo[] | undefined): Promise<void> {
  for (const kind of o.servers) {
    if (aborted) break;
    const start = () => startServer(kind, { workers: o.workers, collectorEnv: o.collectorEnv, antennaCmd: o.antennaCmd });
    // Once more on failure: the free port picked for it may have been taken meanwhile.
    const s = await start().catch((err: Error) => (log(`bench: ${kind} failed to start, retrying: ${err.message}`), start()));
    servers.set(kind, s);
    log(`bench: ${kind} (${s.label}) ready on port ${s.port}, pid ${s.pid}`);
    void s.exited.then(({ code, signal }) => {
      if (!aborted && !stopping) log(`bench: ${kind} exited unexpectedly (${code ?? signal})\n${s.tail()}`);
    });
    await warmUpAfterStart(s, o, Math.max(...o.connections));
    await sleep(500);
    const idle = treeRss(s.pid);
    info?.push({
      server: kind,
      label: s.label,
      idleRssBytes: idle.bytes,
      processes: idle.processes,
      primaryIdleRssBytes: idle.rootBytes,
      largestWorkerIdleRssBytes: idle.largestChildBytes,
    });
  }
}

/** Waits, when a durable server is to run, until an earlier bench's removal no longer slows creating files (settle.ts). */
async function settleAfterEarlierRemoval(o: Options): Promise<void> {
  const plan = settlePlan(o.servers, o.settleS, readRemovalNote(), Date.now(), scansRemovedInodesHere());
  if (!plan) return;
  log(plan.message);
  for (const end = Date.now() + plan.waitMs; Date.now() < end && !aborted;) await sleep(Math.min(1000, end - Date.now()));
}

/** Stops every server started (saying so when one takes over 5 s, with its last lines) and forgets them. */
async function stopServers(servers: Map<ServerKind, Server>): Promise<void> {
  stopping = true;
  await Promise.all(
    [...servers.values()].map(async (s) => {
      const t = Date.now();
      await s.stop();
      const took = (Date.now() - t) / 1000;
      log(`bench: ${s.kind} stopped in ${took.toFixed(1)} s`);
      if (took > 5) {
        const lines = s
          .tail()
          .split('\n')
          .filter((l) => !/"path":"\/(submit|__lbheartbeat__)"| saved"| published"|returned ACCEPT/.test(l));
        log(`bench: ${s.kind} took long to stop; its last lines:\n${lines.slice(-12).join('\n')}`);
      }
    }),
  );
  servers.clear();
  stopping = false;
}

async function main(): Promise<void> {
  let parsed: Options | 'help';
  try {
    parsed = parseOptions(process.argv.slice(2), process.env, ROOT);
  } catch (err) {
    if (err instanceof UsageError) {
      log(`bench: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const o = parsed;
  if (o.servers.includes('noop') || o.servers.includes('fs')) {
    // A concurrent `npm run build` empties dist/ for a few seconds: wait for it.
    for (let waited = 0; !existsSync(path.join(ROOT, 'dist', 'main.js')); waited++) {
      if (waited === 60) throw new Error('dist/main.js is missing: run `npm run build` (npm run bench does it for you)');
      if (waited === 0) log('bench: waiting for dist/main.js (a build in progress?)');
      await sleep(1000);
    }
  }

  const bodyCount = o.sizes.length * o.encodings.length;
  const points = o.sizes.flatMap((size) => o.encodings.flatMap((encoding) => o.connections.map((connections) => ({ size, encoding, connections }))));
  const runCount = points.length * o.servers.length * o.repeat;
  const started = Date.now();
  log(
    `bench: ${runCount} runs of ${o.durationS} s (${o.servers.join(', ')} × ${o.sizes.join('/')} × ${o.encodings.join('/')} × ${o.connections.join('/')} conns` +
      `${o.repeat > 1 ? ` × ${o.repeat} rounds` : ''}), ` +
      `${o.workers} workers each, at most about ${Math.ceil((runCount * (o.durationS + 0.7) + o.servers.length * o.repeat * (3 + o.warmupS + bodyCount * (o.warmupEachS + 0.5)) + 5) / 60)} min`,
  );

  const bodies = new Map<string, CrashBody>();
  for (const size of o.sizes) for (const enc of o.encodings) bodies.set(`${size}/${enc}`, crashBody(SIZES[size], enc));
  const bodyInfo = [...bodies.values()].map((b) => ({
    size: b.size,
    encoding: b.encoding,
    wireBytes: b.body.length,
    dumpBytes: b.dumpBytes,
    inflateCpuMs: b.encoding === 'gzip' ? inflateCpuMs(b.body) : 0,
  }));

  await settleAfterEarlierRemoval(o);

  const servers = new Map<ServerKind, Server>();
  const runs: RunRecord[] = [];
  const serverInfo: ServerInfo[] = [];
  const loadBefore = os.loadavg();
  let failure: unknown;
  try {
    let n = 0;
    for (let round = 1; round <= o.repeat && !aborted; round++) {
      // Fresh servers every round: a worker's RSS hardly shrinks after a 4 MB run, so a
      // second round's 4 KB run on the same servers would carry the first round's peak.
      await startServers(o, servers, round === 1 ? serverInfo : undefined);
      const warmed = new Set<string>();
      for (const p of points) {
        for (const kind of o.servers) {
          if (aborted) break;
          const server = servers.get(kind)!;
          if (!server.running()) {
            throw new Error(`${kind} is no longer running:\n${server.tail()}`);
          }
          const body = bodies.get(`${p.size}/${p.encoding}`)!;
          const warmKey = `${kind}/${p.size}/${p.encoding}`;
          if (!warmed.has(warmKey)) {
            warmed.add(warmKey);
            const w = await warmUpWithBody(server, body, o, Math.max(...o.connections));
            if (w) log(`bench: warmed ${kind} with ${p.size} ${p.encoding}: ${w.answered} answers in ${w.seconds.toFixed(1)} s`);
          }
          await sleep(300); // let the previous run's sockets close
          const r = await measure(server, p.size, body, p.connections, o);
          if (o.repeat > 1) r.round = round;
          runs.push(r);
          n++;
          log(
            `bench: [${n}/${runCount}] ${kind.padEnd(11)} ${p.size.padEnd(4)} ${p.encoding.padEnd(5)} ${String(p.connections).padStart(2)} conns: ` +
              `${r.crashesPerS.toFixed(1)} crashes/s, ${r.mbPerS.toFixed(1)} MB/s, ${r.cpuMsPerCrash.toFixed(3)} CPU ms/crash, p99 ${r.latencyP99Ms} ms, ` +
              `${r.non2xx} non-2xx, ${r.errors} errors` +
              (r.heartbeat ? `, heartbeat p99 ${r.heartbeat.p99Ms.toFixed(1)} ms` : '') +
              (r.verification ? `, on disk ${r.verification.complete}/${r.verification.acknowledged}` : ''),
          );
        }
      }
      await stopServers(servers);
    }
  } catch (err) {
    failure = err;
  } finally {
    await stopServers(servers);
    const kept = removeDataDirs(o.keepData);
    if (o.keepData && kept.length > 0) log(`bench: kept the servers' directories (files emptied; remove them yourself): ${kept.join(' ')}`);
  }

  computeRatios(runs);
  // What the table, chart and targets judge: each point's median over its rounds (the runs themselves with one round).
  const judged = o.repeat > 1 ? medianRuns(runs) : runs;
  const targets = evaluateTargets(
    judged,
    Object.fromEntries(bodyInfo.filter((b) => b.encoding === 'gzip').map((b) => [SIZE_NAMES.find((n) => SIZES[n] === b.size)!, b.inflateCpuMs])),
  );
  const totalS = (Date.now() - started) / 1000;
  const result = {
    when: new Date(started).toISOString(),
    commit: gitCommit(),
    node: process.version,
    host: {
      cpus: os.availableParallelism?.() ?? os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryBytes: os.totalmem(),
      loadavgBefore: loadBefore,
      loadavgAfter: os.loadavg(),
    },
    options: {
      durationS: o.durationS,
      warmupS: o.warmupS,
      warmupRequests: o.warmupRequests,
      warmupEachS: o.warmupEachS,
      warmupEachRequests: o.warmupEachRequests,
      workers: o.workers,
      quick: o.quick,
      sizes: o.sizes,
      encodings: o.encodings,
      connections: o.connections,
      servers: o.servers,
      repeat: o.repeat,
      collectorEnv: o.collectorEnv,
      antennaCmd: o.antennaCmd,
    },
    bodies: bodyInfo,
    servers: serverInfo,
    complete: !aborted && !failure && runs.length === runCount,
    totalSeconds: totalS,
    runs,
    ...(o.repeat > 1 ? { medians: judged } : {}),
    targets,
  };
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  const chartPath = o.out.replace(/\.json$/, '') + '.svg';
  writeFileSync(chartPath, renderChart(judged, chartTitle(result)));

  const out = process.stdout;
  out.write(
    `\nAntenna bench — ${o.workers} workers per server, ${o.durationS} s per run, node ${process.version}, ${result.host.cpus} CPUs, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before\n`,
  );
  out.write(
    `bodies: ${bodyInfo.map((b) => `${b.size} B ${b.encoding} → ${b.wireBytes} B on the wire${b.inflateCpuMs ? ` (inflate ${b.inflateCpuMs.toFixed(3)} CPU ms)` : ''}`).join('; ')}\n\n`,
  );
  out.write(
    `idle RSS after warm-up: ${serverInfo.map((i) => `${i.server} ${(i.idleRssBytes / MB).toFixed(0)} MB (${i.processes} processes, largest worker ${(i.largestWorkerIdleRssBytes / MB).toFixed(0)} MB)`).join('; ')}\n\n`,
  );
  if (o.repeat > 1) out.write(`each row: the median of ${o.repeat} rounds, (min–max) of its rounds beside CPU and RSS\n`);
  out.write(formatTable(judged) + '\n\n');
  out.write('Targets\n' + formatTargets(targets) + '\n\n');
  out.write(`${runs.length}/${runCount} runs in ${totalS.toFixed(0)} s; results in ${o.out}, chart in ${chartPath}\n`);
  if (failure) throw failure;
  if (aborted) {
    log('bench: interrupted');
    process.exitCode = 130;
  }
}

process.on('SIGINT', () => {
  if (aborted) {
    killAllNow();
    process.exit(130);
  }
  aborted = true;
  log('\nbench: interrupted, stopping the servers (Ctrl-C again to kill them now)');
  stopLoad();
});
process.on('SIGTERM', () => {
  aborted = true;
  stopLoad();
});
process.on('exit', killAllNow);

main().catch((err: Error) => {
  log(`bench: ${err.stack ?? err.message}`);
  killAllNow();
  process.exit(1);
});
