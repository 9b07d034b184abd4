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

/** A logger that keeps each line as `<level> <message>` (no JSON, no timestamp), for tests that read exact messages. */
export function lineLogger(): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const logger: Logger = {
    error: (m) => void lines.push(`error ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    info: (m) => void lines.push(`info ${m}`),
    debug: (m) => void lines.push(`debug ${m}`),
    child: () => logger,
  };
  return { lines, logger };
}

/** Metrics that keep counts as `<name>[ <tags,…>]`, gauges as `[name, value]` and timing names. */
export function recordingMetrics(): { counted: string[]; gauges: Array<[string, number]>; timings: string[]; metrics: Metrics } {
  const counted: string[] = [];
  const gauges: Array<[string, number]> = [];
  const timings: string[] = [];
  const metrics: Metrics = {
    incr: (name, tags) => void counted.push(`${name}${tags ? ' ' + tags.join(',') : ''}`),
    gauge: (name, value) => void gauges.push([name, value]),
    timing: (name) => void timings.push(name),
    histogram() {},
    close: async () => {},
  };
  return { counted, gauges, timings, metrics };
}

/** One metric call with its exact type, name, value and tags, as StatsD would get it. */
export interface MetricCall {
  type: string;
  name: string;
  value: number;
  tags: string[] | undefined;
}

/** Metrics that record every call exactly; `named` gives one metric's calls without their name. */
export function exactMetrics(): { calls: MetricCall[]; metrics: Metrics; named: (name: string) => Array<Omit<MetricCall, 'name'>> } {
  const calls: MetricCall[] = [];
  const metrics: Metrics = {
    incr: (name, tags, value = 1) => calls.push({ type: 'c', name, value, tags }),
    gauge: (name, value, tags) => calls.push({ type: 'g', name, value, tags }),
    timing: (name, value, tags) => calls.push({ type: 'ms', name, value, tags }),
    histogram: (name, value, tags) => calls.push({ type: 'h', name, value, tags }),
    close: async () => {},
  };
  const named = (name: string) => calls.filter((c) => c.name === name).map(({ type, value, tags }) => ({ type, value, tags }));
  return { calls, metrics, named };
}

/** The sum of the StatsD counter `name` (without the `socorro.` namespace) over received lines, however a process split or summed it. */
export function statsdCount(lines: readonly string[], name: string): number {
  return lines.filter((l) => l.startsWith(`socorro.${name}:`)).reduce((n, l) => n + Number(/:(\d+)\|c(\||$)/.exec(l)![1]), 0);
}
