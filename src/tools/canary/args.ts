/**
 * The canary's command line, parsed without side effects so that it tests
 * without a server: every bound the run respects (rate, duration, total,
 * concurrency, timeouts) is decided here.
 */
import { readFileSync } from 'node:fs';

export const USAGE = `Usage: npm run canary -- --url URL [options]

Submits synthetic crashes (annotation AntennaCanary=1) to one collector URL at
a fixed rate, checks that each reached storage (raw crash, dump bytes and
checksum) and the queue, and reports the success rate and end-to-end latency.
Storage and queue are read with the collector's own settings: run it with the
collector's environment (CRASHMOVER_CRASHSTORAGE_*, CRASHMOVER_CRASHPUBLISH_*,
STORAGE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, …). See docs/canary.md.

  --url URL              submit URL of the collector (…/submit); the only address crashes go to
  --rate N/s|N/m         crashes per second or minute (default 1/s, at most 50/s)
  --duration D           how long to send, e.g. 30s, 10m, 1h (default 1m, at most 24h)
  --max-requests N       refuse to start when rate × duration exceeds N (default 10000)
  --timeout D            how long a crash may take, after its answer, to appear
                         in storage and on the queue (default 30s)
  --submit-timeout D     how long one submission may take (default 30s)
  --max-in-flight N      submissions at once; a tick finding N still in flight
                         is skipped and counted as failed (default 20)
  --interval D           progress line (and metrics file) every D (default 10s)
  --product NAME         ProductName of the synthetic crashes (default AntennaCanary)
  --annotation K=V       another annotation (repeatable), e.g. Throttleable=0
  --dump-size BYTES      size of the random minidump (default 4096, at most 1048576)
  --subscription NAME    Pub/Sub: a subscription of the collector's topic that
                         only the canary reads (every message on it is acked)
  --sqs-queue NAME|URL   SQS: a queue that only the canary reads and that gets
                         every crash id (every message on it is deleted)
  --no-queue-check       do not check the queue (storage is still checked)
  --statsd HOST:PORT     send metrics to StatsD (default: STATSD_HOST/STATSD_PORT
                         when STATSD_HOST is set; none otherwise)
  --prom-file PATH       write metrics in Prometheus text format to PATH
                         (for node_exporter's textfile collector)
  --min-success PCT      exit 1 when the success rate is below PCT (default 100)
  --cacert FILE          trust this PEM certificate (or CA) for an https URL
  --insecure             do not verify the server's certificate (testing only)
  --help                 this text`;

export const LIMITS = { maxRatePerSecond: 50, maxDurationMs: 24 * 3600_000, maxDumpSize: 1024 * 1024 } as const;

export interface CanaryOptions {
  url: URL;
  /** Crashes per second. */
  rate: number;
  durationMs: number;
  maxRequests: number;
  timeoutMs: number;
  submitTimeoutMs: number;
  maxInFlight: number;
  intervalMs: number;
  product: string;
  annotations: Record<string, string>;
  dumpSize: number;
  subscription?: string;
  sqsQueue?: string;
  queueCheck: boolean;
  statsd?: { host: string; port: number };
  promFile?: string;
  /** Percent, 0–100. */
  minSuccess: number;
  ca?: Buffer;
  insecure: boolean;
}

/** A usage error: the CLI prints it with the usage text and exits 2. */
export class UsageError extends Error {}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** `500ms`, `30s`, `10m`, `1h`, or a bare number of seconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} expects a duration such as 30s, 10m or 1h, got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * UNITS_MS[m[2] ?? 's']!;
  if (!(ms > 0)) throw new UsageError(`${flag} must be more than 0, got ${JSON.stringify(text)}`);
  return ms;
}

/** `2/s`, `120/m`, `0.5/s`, or a bare number per second; returns crashes per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/(s|m|min|h))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--rate expects N/s or N/m (e.g. 2/s, 30/m), got ${JSON.stringify(text)}`);
  const per = { s: 1, m: 60, min: 60, h: 3600 }[m[2] ?? 's']!;
  const rate = Number(m[1]) / per;
  if (!(rate > 0)) throw new UsageError(`--rate must be more than 0, got ${JSON.stringify(text)}`);
  if (rate > LIMITS.maxRatePerSecond)
    throw new UsageError(
      `--rate ${text} is above the canary's limit of ${LIMITS.maxRatePerSecond}/s; a canary probes, it does not load-test (use npm run bench)`,
    );
  return rate;
}

function positiveInt(flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} expects a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

function hostPort(flag: string, text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} expects HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** What the command line has said so far; checked as a whole once it is read. */
interface Draft {
  url?: string;
  rateText: string;
  durationText: string;
  opts: Omit<CanaryOptions, 'url' | 'rate' | 'durationMs'>;
}

/** Reads the value after a flag; `what` names it in the error when it is missing. */
type Value = (what: string) => string;

/** Every option but --help: what it sets from its value (flags take none). */
const OPTIONS = new Map<string, (d: Draft, value: Value, flag: string) => void>([
  ['--url', (d, value) => (d.url = value('a URL'))],
  ['--rate', (d, value) => (d.rateText = value('a rate such as 2/s'))],
  ['--duration', (d, value) => (d.durationText = value('a duration such as 10m'))],
  ['--max-requests', (d, value, flag) => (d.opts.maxRequests = positiveInt(flag, value('a number')))],
  ['--timeout', (d, value, flag) => (d.opts.timeoutMs = parseDuration(flag, value('a duration')))],
  ['--submit-timeout', (d, value, flag) => (d.opts.submitTimeoutMs = parseDuration(flag, value('a duration')))],
  ['--max-in-flight', (d, value, flag) => (d.opts.maxInFlight = positiveInt(flag, value('a number'), 1000))],
  ['--interval', (d, value, flag) => (d.opts.intervalMs = parseDuration(flag, value('a duration')))],
  ['--product', (d, value) => (d.opts.product = value('a product name'))],
  ['--annotation', (d, value) => addAnnotation(d.opts.annotations, value('NAME=VALUE'))],
  ['--dump-size', (d, value, flag) => (d.opts.dumpSize = positiveInt(flag, value('a number of bytes'), LIMITS.maxDumpSize))],
  ['--subscription', (d, value) => (d.opts.subscription = value('a subscription name'))],
  ['--sqs-queue', (d, value) => (d.opts.sqsQueue = value('a queue name or URL'))],
  ['--no-queue-check', (d) => (d.opts.queueCheck = false)],
  ['--statsd', (d, value, flag) => (d.opts.statsd = hostPort(flag, value('HOST:PORT')))],
  ['--prom-file', (d, value) => (d.opts.promFile = value('a file path'))],
  ['--min-success', (d, value) => (d.opts.minSuccess = percentage(value('a percentage')))],
  ['--cacert', (d, value) => (d.opts.ca = readCa(value('a PEM file')))],
  ['--insecure', (d) => (d.opts.insecure = true)],
]);

function addAnnotation(annotations: Record<string, string>, pair: string): void {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`--annotation expects NAME=VALUE, got ${JSON.stringify(pair)}`);
  annotations[pair.slice(0, eq)] = pair.slice(eq + 1);
}

function percentage(value: string): number {
  const text = value.replace(/%$/, '');
  const pct = Number(text);
  if (!(text !== '' && pct >= 0 && pct <= 100)) throw new UsageError(`--min-success expects a percentage from 0 to 100, got ${JSON.stringify(text)}`);
  return pct;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read --cacert ${file}: ${(err as Error).message}`);
  }
}

export function parseArgs(argv: string[]): CanaryOptions | 'help' {
  const draft: Draft = {
    rateText: '1/s',
    durationText: '1m',
    opts: {
      maxRequests: 10_000,
      timeoutMs: 30_000,
      submitTimeoutMs: 30_000,
      maxInFlight: 20,
      intervalMs: 10_000,
      product: 'AntennaCanary',
      annotations: {},
      dumpSize: 4096,
      queueCheck: true,
      minSuccess: 100,
      insecure: false,
    },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const option = OPTIONS.get(arg);
    if (!option) throw new UsageError(`unknown option ${arg}`);
    option(
      draft,
      (what) => {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`${arg} expects ${what}`);
        return v;
      },
      arg,
    );
  }
  return checked(draft);
}

/** The options once the whole command line is read: the URL, and the bounds that depend on more than one option. */
function checked({ url, rateText, durationText, opts }: Draft): CanaryOptions {
  const parsed = submitUrl(url);
  const rate = parseRate(rateText);
  const durationMs = parseDuration('--duration', durationText);
  if (durationMs > LIMITS.maxDurationMs) throw new UsageError(`--duration ${durationText} is above the canary's limit of 24h`);
  const total = plannedCount(rate, durationMs);
  if (total > opts.maxRequests) {
    throw new UsageError(
      `--rate ${rateText} for --duration ${durationText} is ${total} crashes, more than --max-requests ${opts.maxRequests}; lower the rate or duration, or raise --max-requests`,
    );
  }
  if (opts.subscription && opts.sqsQueue) throw new UsageError('give --subscription (Pub/Sub) or --sqs-queue (SQS), not both');
  return { url: parsed, rate, durationMs, ...opts };
}

/** --url as given, with `/submit` for a bare root. */
function submitUrl(url: string | undefined): URL {
  if (!url) throw new UsageError('--url is required: the submit URL of the collector to probe, e.g. https://crash-reports.example.com/submit');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url expects an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--url expects an http:// or https:// URL, got ${JSON.stringify(url)}`);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/submit';
  return parsed;
}

/** Crashes a run sends: one per tick, at least one. */
export function plannedCount(rate: number, durationMs: number): number {
  return Math.max(1, Math.round((rate * durationMs) / 1000));
}
