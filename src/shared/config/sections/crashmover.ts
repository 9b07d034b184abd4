import { int, num } from '../option';

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
    doc: 'Value of the `Retry-After` header sent with 503 when the save queue is full.',
  }),
};
