/**
 * Sends corpus cases and judges each answer (shared by `npm run chaos` and
 * the fast slice in test/integration/hostile-input.test.ts).
 */
import { fuzzCase, type FuzzCase } from './corpus';
import { exchange, type WireAnswer } from './wire';

export interface Judged {
  fuzz: FuzzCase;
  answer: WireAnswer;
  /** What is wrong with the answer itself (storage is audited later); empty when it is fine. */
  problems: string[];
}

/** SPEC §1 for hostile input: a 4xx, or 200 — never 5xx, never silence when an answer is due; controls get 200 CrashID. */
export function judge(fuzz: FuzzCase, answer: WireAnswer): string[] {
  const problems: string[] = [];
  const what = `${fuzz.category} #${fuzz.index}`;
  if (answer.status >= 500) problems.push(`${what}: ${answer.status} ${answer.body.slice(0, 120)}`);
  if (answer.status === 0 && fuzz.answerDue) problems.push(`${what}: no answer (${answer.noAnswer})`);
  if (fuzz.mustAccept && !(answer.status === 200 && answer.body.startsWith('CrashID=bp-')))
    problems.push(`${what}: a well-formed crash got ${answer.status || answer.noAnswer} ${answer.body.slice(0, 120)}`);
  if (answer.status === 200 && answer.body.startsWith('CrashID=') && !fuzz.expect) problems.push(`${what}: acknowledged a request that carries no crash`);
  return problems;
}

/** Sends the cases `indexes` of `seed` from `concurrency` clients, judging each answer (and handing it to `onAnswer`). */
export async function sendCases(
  port: () => number,
  seed: number,
  indexes: readonly number[],
  opts: { concurrency: number; deadline?: number; timeoutMs?: number; onAnswer?: (j: Judged) => void | Promise<void> },
): Promise<Judged[]> {
  const judged: Judged[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < indexes.length && (opts.deadline === undefined || Date.now() < opts.deadline)) {
        const fuzz = fuzzCase(seed, indexes[next++]!);
        const answer = await exchange(port(), fuzz.request, opts.timeoutMs ?? 20000);
        const j = { fuzz, answer, problems: judge(fuzz, answer) };
        // Keep the request bytes only as long as needed: the audit rebuilds them from (seed, index).
        judged.push({ ...j, fuzz: { ...fuzz, request: { pieces: [] } } });
        await opts.onAnswer?.(j);
      }
    }),
  );
  return judged;
}
