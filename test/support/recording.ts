import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logging';
import type { Metrics } from '../../src/shared/metrics';

/** A real logger at INFO whose mozlog lines land in `lines`. */
export function recordingLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'INFO',
    localDevEnv: false,
    hostname: 'test',
    stream: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
  });
  return { lines, logger };
}

/** Metrics that keep each count as `<name> <tags,…> <value>`; the other kinds are dropped. */
export function recordingCounts(): { counted: string[]; metrics: Metrics } {
  const counted: string[] = [];
  const metrics: Metrics = {
    incr: (n, tags, v) => void counted.push(`${n} ${tags?.join(',') ?? ''} ${v ?? 1}`),
    gauge() {},
    timing() {},
    histogram() {},
    close: async () => {},
  };
  return { counted, metrics };
}
