/**
 * One canary run: sends synthetic crashes on a fixed schedule, follows each
 * to storage and the queue, and tallies the outcomes. Its dependencies are
 * injected so that it runs the same against a real node or in a unit test.
 */
import { isValidCrashId } from '../../shared/crash-id';
import { dumpKey, dumpNamesKey, rawCrashKey } from '../../worker/storage/crash-objects';
import type { CanaryOptions } from './args';
import { plannedCount } from './args';
import { buildCrash, CANARY_DUMP_FIELD, verifyStored, type CanaryCrash } from './crash';
import type { CanaryMetrics } from './metrics';
import type { QueueWatcher } from './queue-watcher';
import { finalReport, headerLine, progressLine, promText, type RunInfo } from './report';
import { summarize, type Outcome, type Summary } from './stats';
import type { StorageReader } from './storage-reader';
import type { SubmitResult } from './submitter';

export interface CanaryDeps {
  runId: string;
  submit(crash: CanaryCrash): Promise<SubmitResult>;
  storage: StorageReader;
  /** Undefined when the queue is not checked; `queueNote` then says why. */
  queue?: QueueWatcher;
  queueNote?: string;
  /** BREAKPAD_DUMP_FIELD of the collector: the dump sent as upload_file_minidump is stored under its key. */
  dumpField: string;
  metrics: CanaryMetrics;
  out(text: string): void;
  writeProm?(text: string): void;
  /** Stops sending; crashes already sent are still followed to the end. */
  signal?: AbortSignal;
}

export interface CanaryResult {
  summary: Summary;
  passed: boolean;
  report: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const errorText = (err: unknown) => (err as Error)?.message ?? String(err);

export async function runCanary(opts: CanaryOptions, deps: CanaryDeps): Promise<CanaryResult> {
  const planned = plannedCount(opts.rate, opts.durationMs);
  const periodMs = 1000 / opts.rate;
  const queueCheck = deps.queue !== undefined;
  const info: RunInfo = {
    runId: deps.runId,
    url: opts.url.href,
    rate: opts.rate,
    planned,
    durationMs: opts.durationMs,
    storage: deps.storage.describe,
    queue: deps.queue?.describe ?? `not checked (${deps.queueNote ?? '--no-queue-check'})`,
    queueCheck,
    minSuccess: opts.minSuccess,
  };
  deps.out(headerLine(info));

  // Ids seen on the queue (any crash id: a subscription also carries real crashes), with when.
  const seen = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  await deps.queue?.start((id) => {
    if (!isValidCrashId(id) || seen.has(id)) return;
    seen.set(id, Date.now());
    waiting.get(id)?.();
  });
  // A canary id is claimed at most submit-timeout after it could first appear; older entries belong to other crashes.
  const forgetAfterMs = opts.submitTimeoutMs + opts.timeoutMs + 10_000;
  const forgetOld = () => {
    const cutoff = Date.now() - forgetAfterMs;
    for (const [id, at] of seen) if (at < cutoff && !waiting.has(id)) seen.delete(id);
  };

  const outcomes: Outcome[] = [];
  let sent = 0;
  let skipped = 0;
  let inFlight = 0;
  const summary = () => summarize(outcomes, { sent, skipped });

  async function waitStored(crash: CanaryCrash, crashId: string, t0: number, deadline: number): Promise<Pick<Outcome, 'failed' | 'detail' | 'storedMs'>> {
    let delay = 50;
    let lastError: string | undefined;
    for (;;) {
      let raw: Buffer | undefined;
      try {
        raw = await deps.storage.get(rawCrashKey(crashId));
      } catch (err) {
        lastError = errorText(err);
      }
      if (raw) {
        const storedMs = Date.now() - t0;
        // The raw crash is written last: once it is there, the dump and dump_names are too.
        try {
          const [dump, dumpNames] = await Promise.all([
            deps.storage.get(dumpKey(crashId, CANARY_DUMP_FIELD, deps.dumpField)),
            deps.storage.get(dumpNamesKey(crashId)),
          ]);
          const wrong = verifyStored(crash, { rawCrash: raw, dump, dumpNames });
          return wrong ? { failed: 'content', detail: wrong, storedMs } : { storedMs };
        } catch (err) {
          return { failed: 'content', detail: `cannot read the dump back: ${errorText(err)}`, storedMs };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        return {
          failed: 'storage',
          detail: `raw crash not in ${deps.storage.describe} within ${opts.timeoutMs / 1000} s` + (lastError ? ` (last read error: ${lastError})` : ''),
        };
      }
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 1000);
    }
  }

  function waitQueued(crashId: string, t0: number, deadline: number): Promise<number | undefined> {
    const at = seen.get(crashId);
    if (at !== undefined) return Promise.resolve(at - t0);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          waiting.delete(crashId);
          resolve(undefined);
        },
        Math.max(0, deadline - Date.now()),
      );
      waiting.set(crashId, () => {
        clearTimeout(timer);
        waiting.delete(crashId);
        resolve(seen.get(crashId)! - t0);
      });
    });
  }

  async function probe(seq: number): Promise<Outcome> {
    const crash = buildCrash({ runId: deps.runId, seq, product: opts.product, dumpSize: opts.dumpSize, extra: opts.annotations });
    const t0 = Date.now();
    deps.metrics.sent();
    const answer = await deps.submit(crash);
    if (!answer.ok) return { seq, failed: 'submit', detail: answer.detail };
    const ackMs = Date.now() - t0;
    deps.metrics.acknowledged(ackMs);
    const { crashId } = answer;
    const deadline = Date.now() + opts.timeoutMs;
    const [stored, queuedMs] = await Promise.all([waitStored(crash, crashId, t0, deadline), queueCheck ? waitQueued(crashId, t0, deadline) : undefined]);
    const outcome: Outcome = { seq, crashId, ackMs, ...stored };
    if (stored.failed !== 'content' && stored.storedMs !== undefined) deps.metrics.stored(stored.storedMs);
    if (queuedMs !== undefined) {
      outcome.queuedMs = queuedMs;
      deps.metrics.published(queuedMs);
    } else if (queueCheck && !outcome.failed) {
      const why = deps.queue!.lastError();
      outcome.failed = 'queue';
      outcome.detail = `id not seen on ${deps.queue!.describe} within ${opts.timeoutMs / 1000} s` + (why ? ` (last receive error: ${why})` : '');
    }
    return outcome;
  }

  const started = Date.now();
  const report = (finished: boolean) => {
    const s = summary();
    if (!finished) deps.out(progressLine(Date.now() - started, s, queueCheck));
    deps.writeProm?.(promText(info, s, { finished, nowMs: Date.now() }));
    return s;
  };
  const ticker = setInterval(() => {
    forgetOld();
    report(false);
  }, opts.intervalMs);

  const probes: Array<Promise<void>> = [];
  try {
    for (let i = 0; i < planned && !deps.signal?.aborted; i++) {
      await sleep(started + i * periodMs - Date.now(), deps.signal);
      if (deps.signal?.aborted) break;
      if (inFlight >= opts.maxInFlight) {
        skipped++;
        deps.metrics.failed('skipped');
        continue;
      }
      sent++;
      inFlight++;
      probes.push(
        probe(i + 1)
          .catch((err: unknown): Outcome => ({ seq: i + 1, failed: 'submit', detail: `canary error: ${errorText(err)}` }))
          .then((o) => {
            inFlight--;
            if (o.failed) deps.metrics.failed(o.failed);
            outcomes.push(o);
          }),
      );
    }
    await Promise.all(probes);
  } finally {
    clearInterval(ticker);
  }
  outcomes.sort((a, b) => a.seq - b.seq);
  const s = report(true);
  deps.metrics.successRate(s.successRate);
  const text = finalReport(info, s, Date.now() - started);
  deps.out(text);
  return { summary: s, passed: s.successRate >= opts.minSuccess && s.planned > 0, report: text };
}
