/**
 * An outage ended by a whole-tree SIGKILL: spool on, GCS down, clients
 * submitting; the whole process group (primary and workers) is SIGKILLed
 * mid-load, the node is started again while GCS is still down (SPEC §4: an
 * unavailable backend does not stop a start with the spool on), GCS comes
 * back, and every crash acknowledged before the kill must reach the bucket.
 */
import { startCloud } from '../lib/cloud';
import { submitLoad, loadExpect } from '../lib/load';
import { chaosTemp, freePort, startNode, type ChaosNode } from '../lib/node';
import { finishScenario, probe, sleep, workerEvents, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { drainFindings, waitForDrain } from '../lib/spool';
import { Tally } from '../lib/tally';
import { audit } from '../lib/verify';
import { spoolDirOf, spoolEnv } from './gcs-outage';

export async function treeKill(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const cloud = await startCloud();
  const failures: string[] = [];
  const notes: string[] = [];
  const tally = new Tally();
  const nodes: ChaosNode[] = [];
  try {
    const port = await freePort();
    const dir = chaosTemp('treekill');
    const env = { ...cloud.env, ...spoolEnv(dir) };
    nodes.push(await startNode(env, port));
    const hb = probe(port);
    cloud.outage(true);
    let stopLoad = false;
    const load = submitLoad(port, o.seed + 3, tally, { clients: 6, stop: () => stopLoad, maxTotal: 20000 });
    await sleep(o.durationS * 500);
    const ackedBeforeKill = tally.acked.length;
    await nodes[0]!.killTree();
    o.log(`tree-kill: SIGKILLed the process group after ${ackedBeforeKill} acknowledged crashes`);
    await sleep(1000);
    stopLoad = true;
    await load;
    let restarted: ChaosNode | undefined;
    try {
      restarted = await startNode(env, port, 30000);
      o.log('tree-kill: restarted during the outage');
    } catch (err) {
      failures.push(`restart during the storage outage refused (SPEC §4 says it must start): ${(err as Error).message}`);
    }
    await sleep(3000);
    cloud.outage(false);
    if (!restarted) {
      restarted = await startNode(env, port, 60000);
      o.log('tree-kill: restarted after the outage');
    }
    nodes.push(restarted);
    const drain = drainFindings(await waitForDrain(port, spoolDirOf(dir), 120000), 120);
    failures.push(...drain.failures);
    notes.push(...drain.notes);
    const probeStats = await hb.stop();
    notes.push('probe failures include the seconds the node was down on purpose');
    const result = await audit(cloud.read, tally.acked, loadExpect(o.seed + 3));
    const publishedIds = new Set(cloud.published());
    const unpublished = tally.acked.filter((a) => !publishedIds.has(a.id)).length;
    if (unpublished > 0) notes.push(`${unpublished} acknowledged ids not (yet) published`);
    if (tally.fiveXx > 0) failures.push(`${tally.fiveXx} crashes got 5xx with the spool on (${tally.non2xx()})`);
    const { deaths, replacements } = workerEvents(nodes);
    await restarted.stop();
    return finishScenario(started, {
      name: 'tree-kill',
      tally,
      audit: result,
      kills: 1,
      deaths,
      replacements,
      probe: probeStats,
      failures,
      notes,
    });
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await cloud.stop();
  }
}
