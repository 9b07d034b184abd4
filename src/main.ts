import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './shared/config';
import { createLogger } from './shared/logging';
import { createErrorReporter, releaseFrom } from './shared/error-reporting';
import { componentLogger } from './shared/logging';
import { createStatsdMetrics } from './shared/metrics/statsd';
import { readVersion } from './worker/dockerflow';
import { runPrimary } from './primary/main';

/**
 * The composition root: the only module that knows both sides. The primary
 * gets the start-up checks as a function, so it never imports worker code.
 */
function startupFailure(message: string): never {
  // The logger may not exist yet (bad config); one plain line to stderr is what an operator sees.
  process.stderr.write(`Unhandled startup exception: ${message}\n`);
  if (process.send && cluster.isWorker) process.send({ type: 'antenna:startup-failed', reason: message });
  process.exit(1);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) startupFailure(err.message);
    throw err;
  }

  if (cluster.isPrimary) {
    const logger = createLogger({ level: config.logging.level, localDevEnv: config.server.localDevEnv, hostname: config.server.hostname });
    const o = config.observability;
    const metrics = createStatsdMetrics({
      host: o.statsdHost,
      port: o.statsdPort,
      namespace: o.statsdNamespace,
      hostname: config.server.hostname,
      role: 'primary',
      logger: componentLogger(logger, 'antenna.metrics'),
    });
    const errorReporter = await createErrorReporter({
      dsn: o.sentryDsn,
      release: releaseFrom(readVersion(config.server.basedir)),
      hostname: config.server.hostname,
      logger: componentLogger(logger, 'antenna.sentry'),
      metrics,
    });
    await runPrimary(config, logger, {
      metrics,
      errorReporter,
      verify: async (c) => {
        const { createThrottler } = await import('./worker/throttler');
        createThrottler(c.throttler);
        const { verifyBackends } = await import('./worker/backends');
        await verifyBackends(c, logger);
      },
    });
  } else {
    const { runWorker } = await import('./worker/main');
    await runWorker(config);
  }
}

main().catch((err: Error) => startupFailure(err.stack ?? err.message));
