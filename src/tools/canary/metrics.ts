/**
 * The canary's metrics: StatsD as events happen (hot-shots, DogStatsD tags),
 * and a Prometheus textfile replaced atomically at each interval.
 */
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import StatsD from 'hot-shots';
import type { Stage } from './stats';

export interface CanaryMetrics {
  sent(): void;
  acknowledged(ms: number): void;
  stored(ms: number): void;
  published(ms: number): void;
  failed(stage: Stage): void;
  successRate(percent: number): void;
  close(): Promise<void>;
}

export const noCanaryMetrics: CanaryMetrics = {
  sent() {},
  acknowledged() {},
  stored() {},
  published() {},
  failed() {},
  successRate() {},
  close: async () => {},
};

/**
 * `<namespace>.canary.{sent, acknowledged, stored, published}` (counters),
 * `.failed` (tag `stage`), `.latency` (timing, tag `to`: acknowledged, stored,
 * published) and `.success_rate` (gauge, percent, at the end); every metric
 * tagged `host:<this host>` and `target:<collector host:port>`.
 */
export function statsdCanaryMetrics(o: { host: string; port: number; namespace: string; target: URL; onError: (err: Error) => void }): CanaryMetrics {
  const client = new StatsD({
    host: o.host,
    port: o.port,
    prefix: `${o.namespace}.canary.`,
    globalTags: [`host:${os.hostname()}`, `target:${o.target.host}`],
    errorHandler: o.onError,
  });
  return {
    sent: () => client.increment('sent'),
    acknowledged(ms) {
      client.increment('acknowledged');
      client.timing('latency', ms, ['to:acknowledged']);
    },
    stored(ms) {
      client.increment('stored');
      client.timing('latency', ms, ['to:stored']);
    },
    published(ms) {
      client.increment('published');
      client.timing('latency', ms, ['to:published']);
    },
    failed: (stage) => client.increment('failed', [`stage:${stage}`]),
    successRate: (percent) => client.gauge('success_rate', percent),
    close: () => new Promise<void>((done) => client.close(() => done())),
  };
}

/** Writes `text` to `file` through a temporary file and a rename, so that a scrape never reads half a file. */
export function writeFileAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
