/**
 * One canary run: sends synthetic crashes on a fixed schedule, follows each
 * to storage and the queue, and tallies the outcomes. Its dependencies are
 * injected so that it runs the same against a real node or in a unit test.
 */
import { dumpKey, dumpNamesKey, rawCrashKey } from '../../worker/storage/crash-objects';
import type { CanaryOptions } from './args';
import { plannedCount } from './args';
import { buildCrash, CANARY_DUMP_FIELD, verifyStored, type CanaryCrash } from './crash';
import type { CanaryMetrics } from './metrics';
import type { QueueWatcher } from './queue-watcher';
import { QueueSightings } from './queue-sightings';
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

type Stored = Pick<Outcome, 'failed' | 'detail' | 'storedMs'>;

/** Polls storage (50 ms, doubling to 1 s) until the raw crash is there, then checks what was stored against what was sent. */
async function waitStored(opts: CanaryOptions, deps: CanaryDeps, crash: CanaryCrash, crashId: string, t0: number, deadline: number): Promise<Stored> {
  let delay = 50;
  let lastError: string | undefined;
  for (;;) {
    let raw: Buffer | undefined;
    try {
      raw = await deps.storage.get(rawCrashKey(crashId));
    } catch (err) {
      lastError = errorText(err);
    }
    if (raw) return verify(deps, crash, crashId, raw, Date.now() - t0);
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

/** The raw crash is written last: once it is there, the dump and dump_names are too. */
async function verify(deps: CanaryDeps, crash: CanaryCrash, crashId: string, raw: Buffer, storedMs: number): Promise<Stored> {
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

/** Sends crash `seq` and follows it to storage and (when checked) the queue. */
async function probe(seq: number, opts: CanaryOptions, deps: CanaryDeps, sightings: QueueSightings): Promise<Outcome> {
  const queueCheck = deps.queue !== undefined;
  const crash = buildCrash({ runId: deps.runId, seq, product: opts.product, dumpSize: opts.dumpSize, extra: opts.annotations });
  const t0 = Date.now();
  deps.metrics.sent();
  const answer = await deps.submit(crash);
  if (!answer.ok) return { seq, failed: 'submit', detail: answer.detail };
  const ackMs = Date.now() - t0;
  deps.metrics.acknowledged(ackMs);
  const { crashId } = answer;
  const deadline = Date.now() + opts.timeoutMs;
  const [stored, queuedMs] = await Promise.all([
    waitStored(opts, deps, crash, crashId, t0, deadline),
    queueCheck ? sightings.waitFor(crashId, t0, deadline) : undefined,
  ]);
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

interface Tally {
  outcomes: Outcome[];
  sent: number;
  skipped: number;
  inFlight: number;
}

/**
 * Sends one probe per tick from `started` until `planned` or the signal; a
 * tick that finds `maxInFlight` probes still out is skipped. Resolves once
 * every probe sent has ended, each tallied.
 */
async function sendOnSchedule(
  planned: number,
  started: number,
  opts: CanaryOptions,
  deps: CanaryDeps,
  tally: Tally,
  send: (seq: number) => Promise<Outcome>,
): Promise<void> {
  const periodMs = 1000 / opts.rate;
  const probes: Array<Promise<void>> = [];
  for (let i = 0; i < planned && !deps.signal?.aborted; i++) {
    await sleep(started + i * periodMs - Date.now(), deps.signal);
    if (deps.signal?.aborted) break;
    if (tally.inFlight >= opts.maxInFlight) {
      tally.skipped++;
      deps.metrics.failed('skipped');
      continue;
    }
    tally.sent++;
    tally.inFlight++;
    probes.push(
      send(i + 1)
        .catch((err: unknown): Outcome => ({ seq: i + 1, failed: 'submit', detail: `canary error: ${errorText(err)}` }))
        .then((o) => {
          tally.inFlight--;
          if (o.failed) deps.metrics.failed(o.failed);
          tally.outcomes.push(o);
        }),
    );
  }
  await Promise.all(probes);
}

function runInfo(opts: CanaryOptions, deps: CanaryDeps, planned: number): RunInfo {
  return {
    runId: deps.runId,
    url: opts.url.href,
    rate: opts.rate,
    planned,
    durationMs: opts.durationMs,
    storage: deps.storage.describe,
    queue: deps.queue?.describe ?? `not checked (${deps.queueNote ?? '--no-queue-check'})`,
    queueCheck: deps.queue !== undefined,
    minSuccess: opts.minSuccess,
  };
}

export async function runCanary(opts: CanaryOptions, deps: CanaryDeps): Promise<CanaryResult> {
  const planned = plannedCount(opts.rate, opts.durationMs);
  const info = runInfo(opts, deps, planned);
  deps.out(headerLine(info));

  // A canary id is claimed at most submit-timeout after it could first appear; older entries belong to other crashes.
  const sightings = new QueueSightings(opts.submitTimeoutMs + opts.timeoutMs + 10_000);
  await deps.queue?.start(sightings.onId);

  const tally: Tally = { outcomes: [], sent: 0, skipped: 0, inFlight: 0 };
  const summary = () => summarize(tally.outcomes, { sent: tally.sent, skipped: tally.skipped });
  const started = Date.now();
  const report = (finished: boolean) => {
    const s = summary();
    if (!finished) deps.out(progressLine(Date.now() - started, s, info.queueCheck));
    deps.writeProm?.(promText(info, s, { finished, nowMs: Date.now() }));
    return s;
  };
  const ticker = setInterval(() => {
    sightings.forgetOld();
    report(false);
  }, opts.intervalMs);

  try {
    await sendOnSchedule(planned, started, opts, deps, tally, (seq) => probe(seq, opts, deps, sightings));
  } finally {
    clearInterval(ticker);
  }
  tally.outcomes.sort((a, b) => a.seq - b.seq);
  const s = report(true);
  deps.metrics.successRate(s.successRate);
  const text = finalReport(info, s, Date.now() - started);
  deps.out(text);
  return { summary: s, passed: s.successRate >= opts.minSuccess && s.planned > 0, report: text };
}
