/**
 * Worker SIGKILLs under load (fs storage): a random worker is killed every
 * 1–2 s while clients submit crashes. A client whose worker died gets no
 * answer (it will retry); every crash that got 200 must be on disk whole.
 */
import { rngFor } from '../lib/corpus';
import { submitLoad, loadExpect } from '../lib/load';
import { chaosTemp, freePort, startNode } from '../lib/node';
import { finishScenario, poll, probe, sleep, workerEvents, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { Tally } from '../lib/tally';
import { audit, fsReader } from '../lib/verify';
import path from 'node:path';

const WORKERS = 3;

export async function workerKill(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const root = path.join(chaosTemp('kill'), 'crashes');
  const port = await freePort();
  const node = await startNode({ CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root, WORKERS: String(WORKERS) }, port);
  const tally = new Tally();
  const failures: string[] = [];
  const notes: string[] = [];
  const hb = probe(port);
  const end = Date.now() + o.durationS * 1000;
  const load = submitLoad(port, o.seed, tally, { clients: 8, stop: () => Date.now() > end, maxTotal: 20000 });
  const rng = rngFor(o.seed, -1);
  let kills = 0;
  while (Date.now() < end - 1000) {
    await sleep(rng.int(1000, 2000));
    const pids = node.workerPids();
    if (pids.length === 0) continue;
    try {
      process.kill(rng.pick(pids), 'SIGKILL');
      kills++;
    } catch {
      // exited between listing and kill
    }
  }
  await load;
  const probeStats = await hb.stop();
  o.log(`worker-kill: ${kills} workers killed, ${tally.acked.length}/${tally.sent} acknowledged; verifying`);
  if (!node.alive()) failures.push(`the primary exited during worker kills: ${node.lastError()}`);
  else if (!(await poll(() => node.workerPids().length === WORKERS, 30000)))
    failures.push(`only ${node.workerPids().length} of ${WORKERS} workers running 30 s after the last kill`);
  const result = await audit(fsReader(root), tally.acked, loadExpect(o.seed));
  const { deaths, replacements } = workerEvents([node]);
  if (deaths < kills) notes.push(`${kills} kills, but the primary logged ${deaths} unexpected deaths`);
  if (tally.unanswered > 0) notes.push(`${tally.unanswered} requests unanswered (their worker was killed; never acknowledged, so the client retries)`);
  await node.stop();
  return finishScenario(started, {
    name: 'worker-kill',
    tally,
    audit: result,
    kills,
    deaths: Math.max(0, deaths - kills),
    replacements,
    probe: probeStats,
    failures,
    notes,
  });
}
