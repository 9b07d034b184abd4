/**
 * A storage outage with the spool on: the GCS fake answers 503 (and Pub/Sub
 * fails) for the middle half of the load. Every crash must still get 200
 * (fsynced in the spool), and all must reach the bucket once it is back.
 */
import path from 'node:path';
import { startCloud } from '../lib/cloud';
import { submitLoad, loadExpect } from '../lib/load';
import { chaosTemp, freePort, startNode } from '../lib/node';
import { finishScenario, probe, sleep, workerEvents, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { drainFindings, waitForDrain } from '../lib/spool';
import { Tally } from '../lib/tally';
import { audit } from '../lib/verify';

export const spoolDirOf = (dir: string) => path.join(dir, 'spool');
export const spoolEnv = (dir: string): Record<string, string> => ({
  CRASHMOVER_CRASHSTORAGE_FS_ROOT: path.join(dir, 'unused-fs-root'),
  CRASHMOVER_SPOOL_DIR: spoolDirOf(dir),
  CRASHMOVER_CRASHSTORAGE_TIMEOUT: '5',
  CRASHMOVER_RETRY_SLEEP_SECONDS: '0.5',
  CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '2',
  HEALTH_CHECK_INTERVAL: '1',
});

export async function gcsOutage(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const cloud = await startCloud();
  const failures: string[] = [];
  const notes: string[] = [];
  const tally = new Tally();
  try {
    const port = await freePort();
    const dir = chaosTemp('gcs');
    const node = await startNode({ ...cloud.env, ...spoolEnv(dir) }, port);
    const hb = probe(port);
    const end = Date.now() + o.durationS * 1000;
    const load = submitLoad(port, o.seed + 2, tally, { clients: 6, stop: () => Date.now() > end, maxTotal: 20000 });
    await sleep(o.durationS * 200);
    cloud.outage(true);
    o.log('gcs-outage: storage and publishing down');
    await sleep(o.durationS * 500);
    cloud.outage(false);
    o.log('gcs-outage: back');
    await load;
    const probeStats = await hb.stop();
    const drain = drainFindings(await waitForDrain(port, spoolDirOf(dir), 120000), 120);
    failures.push(...drain.failures);
    notes.push(...drain.notes);
    const result = await audit(cloud.read, tally.acked, loadExpect(o.seed + 2));
    const publishedIds = new Set(cloud.published());
    const unpublished = tally.acked.filter((a) => !publishedIds.has(a.id)).length;
    if (unpublished > 0) notes.push(`${unpublished} acknowledged ids not (yet) published`);
    if (tally.fiveXx > 0 || tally.unanswered > 0)
      failures.push(
        `with the spool on, ${tally.fiveXx} crashes got 5xx and ${tally.unanswered} no answer during the outage (${tally.non2xx()}; ${tally.noAnswerText()})`,
      );
    const { deaths, replacements } = workerEvents([node]);
    if (deaths > 0) failures.push(`${deaths} workers died during the outage`);
    await node.stop();
    return finishScenario(started, {
      name: 'gcs-outage',
      tally,
      audit: result,
      kills: 0,
      deaths,
      replacements,
      probe: probeStats,
      failures,
      notes,
    });
  } finally {
    await cloud.stop();
  }
}
