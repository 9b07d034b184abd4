import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './shared/config';
import { createLogger } from './shared/logging';
import { errorReporterFromConfig, statsdFromConfig } from './shared/observability';
import { runPrimary } from './primary/main';
import { onOrphaned } from './primary/parent-watch';
import { preflight, withStartupTimeout } from './primary/preflight';

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
    const metrics = statsdFromConfig(config, logger, 'primary');
    const errorReporter = await errorReporterFromConfig(config, logger, metrics);
    await runPrimary(config, logger, {
      metrics,
      errorReporter,
      verify: (c) =>
        withStartupTimeout(
          (async () => {
            await preflight(c);
            const { createThrottler } = await import('./worker/throttler');
            createThrottler(c.throttler);
            const { verifyBackends } = await import('./worker/backends');
            await verifyBackends(c, logger);
          })(),
          c.cluster.startupTimeoutSeconds,
          'the start-up checks',
        ),
    });
    if (process.env.npm_lifecycle_event === 'start') {
      onOrphaned(() => {
        logger.warn(
          'npm, which started this node, is gone (npm does not pass signals on): draining as on SIGTERM; under a supervisor run `node dist/main.js` directly',
        );
        process.kill(process.pid, 'SIGTERM');
      });
    }
    // Verified and forking: one sweeper of fs storage per node, in the primary (see fs-sweep.ts).
    (await import('./worker/storage/fs-sweep')).startFsSweeper(config, logger, metrics);
  } else {
    const { runWorker } = await import('./worker/main');
    await runWorker(config);
  }
}

main().catch((err: Error) => startupFailure(err.stack ?? err.message));
