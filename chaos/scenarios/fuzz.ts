/**
 * The hostile corpus (lib/corpus.ts) against a node on fs storage: every
 * answer judged (lib/fuzz.ts), every 200 audited byte for byte, the storage
 * tree checked for files outside SPEC §2's layout, the node kept up.
 */
import path from 'node:path';
import { storedFiles } from '../../test/support/crashes';
import { CATEGORY_NAMES, CORPUS_SERVER_ENV, fuzzCase } from '../lib/corpus';
import { sendCases } from '../lib/fuzz';
import { chaosTemp, freePort, startNode, type ChaosNode } from '../lib/node';
import { emptyAudit, finishScenario, probe, workerEvents, type CategoryRow, type ScenarioOptions, type ScenarioResult } from '../lib/scenario';
import { Tally } from '../lib/tally';
import { audit, fsReader, STORED_LAYOUT } from '../lib/verify';

export async function fuzz(o: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const root = path.join(chaosTemp('fuzz'), 'crashes');
  const port = await freePort();
  const env = { ...CORPUS_SERVER_ENV, CRASHMOVER_CRASHSTORAGE_CLASS: 'fs', CRASHMOVER_CRASHSTORAGE_FS_ROOT: root };
  const nodes: ChaosNode[] = [await startNode(env, port)];
  const tally = new Tally();
  const tallies = new Map<string, Tally>(CATEGORY_NAMES.map((c) => [c, new Tally()]));
  const dropped = new Map<string, number>();
  const refusedControls = new Map<string, number>();
  const problems: string[] = [];
  const failures: string[] = [];
  const notes: string[] = [];
  let nodeRestarts = 0;
  const hb = probe(port);
  const deadline = Date.now() + Math.max(240, o.fuzzCount / 25) * 1000;
  let restarting: Promise<void> | undefined;
  const indexes = Array.from({ length: o.fuzzCount }, (_, i) => i);
  let done = 0;
  let controls = 0;
  await sendCases(() => port, o.seed, indexes, {
    concurrency: 32,
    timeoutMs: 40000,
    deadline,
    async onAnswer({ fuzz, answer, problems: p }) {
      tally.record(answer, `fuzz#${fuzz.index}`);
      if (fuzz.mustAccept) controls++;
      tallies.get(fuzz.category)!.record(answer, `fuzz#${fuzz.index}`);
      if (answer.status === 0 && fuzz.answerDue) dropped.set(fuzz.category, (dropped.get(fuzz.category) ?? 0) + 1);
      if (fuzz.mustAccept && answer.status !== 200) refusedControls.set(fuzz.category, (refusedControls.get(fuzz.category) ?? 0) + 1);
      // The first problem of each category, for the findings.
      if (p.length > 0 && !problems.some((q) => q.startsWith(`${fuzz.category} #`))) problems.push(p[0]!.slice(0, 160));
      if (++done % 1000 === 0) o.log(`fuzz: ${done}/${o.fuzzCount} sent`);
      const node = nodes[nodes.length - 1]!;
      if (!node.alive()) {
        // The whole node went down (crash loop?): say so, start another and go on with the corpus.
        restarting ??= (async () => {
          nodeRestarts++;
          o.log(`fuzz: the node exited (after case ${fuzz.index}); starting it again`);
          nodes.push(await startNode(env, port));
          restarting = undefined;
        })();
        await restarting;
      }
    },
  });
  const probeStats = await hb.stop();
  notes.push(`${tally.sent - controls} hostile requests and ${controls} well-formed controls`);
  if (tally.sent < o.fuzzCount) failures.push(`only ${tally.sent} of ${o.fuzzCount} cases sent before the time limit`);
  o.log(`fuzz: ${tally.sent} sent, ${tally.acked.length} acknowledged; verifying`);
  // Each category's acknowledged crashes audited on their own, so the table says where a loss came from.
  const expectOf = (label: string) => fuzzCase(o.seed, Number(label.slice('fuzz#'.length))).expect ?? { dumps: 'consistent' as const };
  const result = emptyAudit();
  const categories: CategoryRow[] = [];
  for (const [category, t] of tallies) {
    const a = await audit(fsReader(root), t.acked, expectOf);
    result.checked += a.checked;
    result.lost += a.lost;
    result.examples.push(...a.examples.slice(0, 2));
    categories.push({ category, tally: t, droppedDue: dropped.get(category) ?? 0, controlsRefused: refusedControls.get(category) ?? 0, lost: a.lost });
  }
  const stray = storedFiles(root).filter((f) => !STORED_LAYOUT.test(f));
  if (stray.length > 0) failures.push(`files outside the storage layout: ${stray.slice(0, 5).join(', ')}`);
  const { deaths, replacements } = workerEvents(nodes);
  if (nodeRestarts > 0) failures.push(`the node exited ${nodeRestarts} times on hostile input`);
  if (deaths > 0) failures.push(`${deaths} workers died on hostile input`);
  if (tally.fiveXx > 0) failures.push(`${tally.fiveXx} answers 5xx on hostile input`);
  const droppedTotal = [...dropped.values()].reduce((a, b) => a + b, 0);
  if (droppedTotal > 0) failures.push(`${droppedTotal} requests owed an answer got none`);
  const refusedTotal = [...refusedControls.values()].reduce((a, b) => a + b, 0);
  if (refusedTotal > 0) failures.push(`${refusedTotal} well-formed crashes refused`);
  if (problems.length > 0) notes.push(`first answer problem per category: ${problems.join(' | ')}`);
  for (const n of nodes) await n.stop();
  return finishScenario(started, {
    name: 'fuzz',
    tally,
    audit: result,
    kills: 0,
    deaths,
    replacements,
    probe: probeStats,
    failures,
    notes,
    categories,
  });
}
