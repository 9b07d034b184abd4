import { choice, custom, int, num, str } from '../option';

/** A byte count (`10737418240`, `512MiB`, `10GiB`) or a share of the spool disk's free space (`50%`). */
export type SpoolLimit = { bytes: number } | { percentOfFree: number };

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

export function parseSpoolLimit(raw: string): SpoolLimit {
  const value = raw.trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (pct) {
    const percentOfFree = Number(pct[1]);
    if (percentOfFree <= 0 || percentOfFree > 100) throw new Error('a percentage must be above 0 and at most 100');
    return { percentOfFree };
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value);
  const unit = m ? UNITS[m[2]!.toUpperCase()] : undefined;
  if (!m || unit === undefined) throw new Error('expected a size such as 10GiB, 500MB, 1073741824, or a share of free disk such as 50%');
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1024 * 1024) throw new Error('a spool smaller than 1 MiB cannot hold a crash');
  return { bytes };
}

/** The crashmover: the per-worker pool that saves and publishes crashes. */
export const crashmoverOptions = {
  concurrentCrashmovers: int({
    env: 'CRASHMOVER_CONCURRENT_CRASHMOVERS',
    default: 8,
    min: 1,
    max: 1024,
    doc: 'Crashes one worker saves at the same time; the rest wait in the save queue (`save_queue_size`).',
  }),
  maxQueueSize: int({
    env: 'CRASHMOVER_MAX_QUEUE_SIZE',
    default: 512,
    min: 0,
    doc: 'Most crashes waiting in one worker’s save queue. When it is full, new crashes get 503 with `Retry-After` instead of growing memory.',
  }),
  maxAttempts: int({
    env: 'CRASHMOVER_MAX_ATTEMPTS',
    default: 5,
    min: 1,
    max: 100,
    doc: 'Attempts to save (and, separately, to publish) a crash before giving up.',
  }),
  retrySleepSeconds: num({
    env: 'CRASHMOVER_RETRY_SLEEP_SECONDS',
    default: 2,
    min: 0,
    doc: 'Seconds to wait between two attempts.',
  }),
  retryAfterSeconds: int({
    env: 'CRASHMOVER_RETRY_AFTER_SECONDS',
    default: 30,
    min: 1,
    doc: 'Value of the `Retry-After` header sent with 503 when the save queue (or spool) is full or saves are failing, and with 500 when a crash could not be saved after the last attempt.',
  }),
  spool: choice<'auto' | 'on' | 'off'>({
    env: 'CRASHMOVER_SPOOL',
    default: 'auto',
    values: ['auto', 'on', 'off'],
    doc: 'Store-and-forward: acknowledge a crash once it is fsynced to the local spool, and move it to storage in the background. `auto` = on for `gcs` and `s3`, off for `fs` and `noop`; `off` = Antenna’s behaviour (acknowledge after the remote save). See docs/spool.md.',
  }),
  spoolDir: str({
    env: 'CRASHMOVER_SPOOL_DIR',
    default: './spool',
    doc: 'Directory of the spool. Put it on a persistent disk: crashes in it have been acknowledged.',
    expected: 'a directory path',
  }),
  spoolMaxBytes: custom<SpoolLimit>({
    env: 'CRASHMOVER_SPOOL_MAX_BYTES',
    default: '10GiB',
    expected: 'a size (`10GiB`, `500MB`, `1073741824`) or a share of the free disk space at start-up (`50%`)',
    doc: 'Most bytes the spool may hold; a crash that would not fit is refused with 503 and `Retry-After`.',
    parse: parseSpoolLimit,
  }),
  spoolMaxAgeSeconds: int({
    env: 'CRASHMOVER_SPOOL_MAX_AGE',
    default: 7 * 24 * 3600,
    min: 0,
    doc: 'Seconds a crash may wait in the spool; older ones are deleted with a log line and counted (`collector.spool.expired`). 0 = keep forever.',
  }),
  spoolMaxBackoffSeconds: num({
    env: 'CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS',
    default: 60,
    min: 0.1,
    doc: 'Cap of the exponential back-off between attempts to move spooled crashes while storage or publishing fails.',
  }),
  spoolSweepIntervalSeconds: int({
    env: 'CRASHMOVER_SPOOL_SWEEP_INTERVAL',
    default: 600,
    min: 0,
    doc: 'Seconds between sweeps of `<spool>/tmp/` for what killed workers left behind (temporary entries, write probes older than `CRASHMOVER_SPOOL_SWEEP_MIN_AGE`; counted in `collector.spool.swept.count`). 0 = only the start-up recovery, which empties `tmp/` before any worker runs. A sweep lists one small directory.',
  }),
  spoolSweepMinAgeSeconds: int({
    env: 'CRASHMOVER_SPOOL_SWEEP_MIN_AGE',
    default: 600,
    min: 1,
    doc: 'Age in seconds from which a file in `<spool>/tmp/` counts as left behind. Writing an entry takes well under a second; even a live write swept by mistake is only refused with 503, never lost, since nothing in `tmp/` was acknowledged.',
  }),
};
