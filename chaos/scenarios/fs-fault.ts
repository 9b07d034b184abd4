/**
 * A storage fault on fs storage (no spool): mid-load the crash tree `v1/` is
 * replaced by a plain file for a few seconds (every write fails with
 * ENOTDIR — works as root too, unlike chmod), then put back. Saves retry;
 * a client gets 200 only for a crash on disk, 500 when the retries run out.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { submitLoad, loadExpect } from '../lib/load';
import { chaosTemp, freePort, startNode } from '../lib/node';
import { finishScenario, probe, sleep, workerEvents, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { Tally } from '../lib/tally';
import { audit, fsReader } from '../lib/verify';

export async function fsFault(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const root = path.join(chaosTemp('fsfault'), 'crashes');
  const port = await freePort();
  const node = await startNode({ CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root }, port);
  const tally = new Tally();
  const failures: string[] = [];
  const notes: string[] = [];
  const hb = probe(port);
  const end = Date.now() + o.durationS * 1000;
  const load = submitLoad(port, o.seed + 1, tally, { clients: 6, stop: () => Date.now() > end, maxTotal: 20000 });
  await sleep(o.durationS * 300);
  const v1 = path.join(root, 'v1');
  const away = path.join(root, 'v1.chaos-away');
  mkdirSync(v1, { recursive: true });
  const faultMs = Math.min(8000, Math.max(5000, o.durationS * 250));
  renameSync(v1, away);
  writeFileSync(v1, 'not a directory\n');
  o.log(`fs-fault: ${v1} is a file for ${faultMs / 1000} s`);
  await sleep(faultMs);
  rmSync(v1, { force: true });
  renameSync(away, v1);
  o.log('fs-fault: repaired');
  await load;
  const probeStats = await hb.stop();
  if (!node.alive()) failures.push('the node exited during the storage fault');
  const result = await audit(fsReader(root), tally.acked, loadExpect(o.seed + 1));
  if (tally.unanswered > 0) failures.push(`${tally.unanswered} requests closed without an answer during a storage fault (${tally.noAnswerText()})`);
  // Proof that the fault bit: saves that failed and were retried (a fault no save noticed tests nothing).
  const retried = node.countLogs(/attempt \d+ failed; retrying/);
  notes.push(`${retried} save attempts failed during the fault and were retried`);
  if (retried === 0) failures.push('no save failed during the fault: the scenario did not test anything');
  if (tally.fiveXx > 0) notes.push(`${tally.fiveXx} crashes refused with 5xx while storage failed (never acknowledged: the client retries)`);
  const { deaths, replacements } = workerEvents([node]);
  if (deaths > 0) failures.push(`${deaths} workers died during the storage fault`);
  await node.stop();
  return finishScenario(started, {
    name: 'fs-fault',
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
