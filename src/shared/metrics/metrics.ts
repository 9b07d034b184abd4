import type { MetricName } from './catalog';

/**
 * The metrics seam: StatsD-style calls with DogStatsD tags (`"reason:bad_gzip"`).
 * Names are Antenna's without the namespace prefix, e.g.
 * `collector.breakpad_resource.incoming_crash`; a name must be in the
 * catalog (src/shared/metrics/catalog.ts), or the call does not compile.
 */
export interface Metrics {
  incr(name: MetricName, tags?: string[], value?: number): void;
  gauge(name: MetricName, value: number, tags?: string[]): void;
  timing(name: MetricName, ms: number, tags?: string[]): void;
  histogram(name: MetricName, value: number, tags?: string[]): void;
  close(): Promise<void>;
}

export const noopMetrics: Metrics = {
  incr() {},
  gauge() {},
  timing() {},
  histogram() {},
  async close() {},
};

/** Measures an async call and reports its duration as a timing, whatever the outcome. */
export async function timed<T>(metrics: Metrics, name: MetricName, fn: () => Promise<T>, tags?: string[]): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    metrics.timing(name, performance.now() - start, tags);
  }
}

/** Sends every call to each of `targets` (e.g. StatsD and Prometheus). */
export function fanOut(...targets: Metrics[]): Metrics {
  if (targets.length === 1) return targets[0]!;
  return {
    incr: (n, t, v) => targets.forEach((m) => m.incr(n, t, v)),
    gauge: (n, v, t) => targets.forEach((m) => m.gauge(n, v, t)),
    timing: (n, ms, t) => targets.forEach((m) => m.timing(n, ms, t)),
    histogram: (n, v, t) => targets.forEach((m) => m.histogram(n, v, t)),
    close: async () => void (await Promise.allSettled(targets.map((m) => m.close()))),
  };
}
