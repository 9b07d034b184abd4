/** The shape of a catalog entry (see catalog.ts, which joins the tables into the one catalog). */
export type StatsdType = 'incr' | 'gauge' | 'timing' | 'histogram';

export interface PromMapping {
  readonly name: string;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  /** Tag keys that become labels (taken from the call's tags). */
  readonly labels?: readonly string[];
  /** Labels fixed by the mapping, e.g. `{endpoint: "heartbeat"}`. */
  readonly constLabels?: Readonly<Record<string, string>>;
  /** Multiplier from the StatsD value (ms → s: 0.001). */
  readonly scale?: number;
  readonly buckets?: readonly number[];
}

export interface MetricSpec<N extends string = string> {
  readonly name: N;
  readonly type: StatsdType;
  /** DogStatsD tag keys sent with the metric (besides `host`). Other tags on a call go to Prometheus only. */
  readonly tags: readonly string[];
  readonly description: string;
  /** Which process sends it to StatsD; the worker's per-process value of a fleet gauge stays in Prometheus. */
  readonly statsdFrom?: 'worker' | 'primary';
  readonly prom?: PromMapping;
}

export const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const BYTES = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 33554432];
