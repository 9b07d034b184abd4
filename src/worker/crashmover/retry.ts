export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn` up to `attempts` times, waiting `sleepMs` between tries.
 * `onRetry` sees each failure that will be retried. An error `retryable`
 * refuses (default: none) ends the tries at once. Rethrows the last error.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  opts: {
    attempts: number;
    sleepMs: number;
    onRetry?: (err: unknown, attempt: number) => void;
    sleep?: (ms: number) => Promise<void>;
    retryable?: (err: unknown) => boolean;
  },
): Promise<T> {
  const wait = opts.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= opts.attempts || (opts.retryable && !opts.retryable(err))) throw err;
      opts.onRetry?.(err, attempt);
      await wait(opts.sleepMs);
    }
  }
}
