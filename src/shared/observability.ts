import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config';
import { createErrorReporter, releaseFrom, type ErrorReporter } from './error-reporting';
import { componentLogger, type Logger } from './logging';
import type { Metrics } from './metrics';
import { createStatsdMetrics } from './metrics/statsd';

/** `version.json` from the app's base directory, or `{}` when absent or unreadable. */
export function readVersion(basedir: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(basedir, 'version.json'), 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** StatsD for one process of the node, from the observability options. */
export function statsdFromConfig(config: Config, logger: Logger, role: 'primary' | 'worker'): Metrics {
  const o = config.observability;
  return createStatsdMetrics({
    host: o.statsdHost,
    port: o.statsdPort,
    namespace: o.statsdNamespace,
    aggregationIntervalMs: o.statsdAggregationIntervalMs,
    hostname: config.server.hostname,
    role,
    logger: componentLogger(logger, 'antenna.metrics'),
  });
}

/** Sentry (or nothing, without SECRET_SENTRY_DSN) for one process of the node. */
export function errorReporterFromConfig(config: Config, logger: Logger, metrics: Metrics): Promise<ErrorReporter> {
  return createErrorReporter({
    dsn: config.observability.sentryDsn,
    release: releaseFrom(readVersion(config.server.basedir)),
    hostname: config.server.hostname,
    logger: componentLogger(logger, 'antenna.sentry'),
    metrics,
  });
}
