/**
 * `npm run canary`: end-to-end probe of a collector. See docs/canary.md and
 * canary/run.ts. Exit status: 0 when the success rate reached --min-success,
 * 1 when it did not, 2 when the canary could not run (usage, configuration,
 * storage or queue unreadable).
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../shared/config';
import { parseArgs, USAGE, UsageError, type CanaryOptions } from './canary/args';
import { noCanaryMetrics, statsdCanaryMetrics, writeFileAtomically, type CanaryMetrics } from './canary/metrics';
import { createQueueWatcher, type QueueWatcher } from './canary/queue-watcher';
import { runCanary } from './canary/run';
import { createStorageReader, type StorageReader } from './canary/storage-reader';
import { createSubmitter } from './canary/submitter';

function cannotRun(message: string, usage = false): never {
  process.stderr.write(`canary: ${message}\n${usage ? `\n${USAGE}\n` : ''}`);
  process.exit(2);
}

function metricsFor(opts: CanaryOptions, env: NodeJS.ProcessEnv, config: ReturnType<typeof loadConfig>): CanaryMetrics {
  // StatsD only when asked for: STATSD_HOST defaults to localhost for the collector, not for a tool run by hand.
  const target = opts.statsd ?? (env.STATSD_HOST ? { host: config.observability.statsdHost, port: config.observability.statsdPort } : undefined);
  if (!target) return noCanaryMetrics;
  let reported = false;
  return statsdCanaryMetrics({
    ...target,
    namespace: config.observability.statsdNamespace,
    target: opts.url,
    onError: (err) => {
      if (!reported) process.stderr.write(`canary: cannot send metrics to StatsD at ${target.host}:${target.port}: ${err.message}\n`);
      reported = true;
    },
  });
}

async function main(): Promise<void> {
  let opts: CanaryOptions;
  try {
    const parsed = parseArgs(process.argv.slice(2));
    if (parsed === 'help') {
      process.stdout.write(USAGE + '\n');
      return;
    }
    opts = parsed;
  } catch (err) {
    if (err instanceof UsageError) cannotRun(err.message, true);
    throw err;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError)
      cannotRun(`${err.message}\n(the canary reads storage and the queue with the collector's settings: run it with the collector's environment)`);
    throw err;
  }

  let storage: StorageReader | undefined;
  let queue: QueueWatcher | undefined;
  let queueNote: string | undefined;
  try {
    storage = await createStorageReader(config);
    if (!opts.queueCheck) queueNote = '--no-queue-check';
    else if (config.publish.class === 'noop') queueNote = 'CRASHMOVER_CRASHPUBLISH_CLASS=noop publishes nothing';
    else queue = await createQueueWatcher(config, opts);
    if (opts.sqsQueue && config.publish.class === 'sqs' && opts.sqsQueue === config.publish.queueName) {
      process.stderr.write(
        `canary: warning: --sqs-queue ${opts.sqsQueue} is the collector's own queue (CRASHMOVER_CRASHPUBLISH_QUEUE_NAME); the canary deletes every message it receives there, ` +
          'which is only safe when no processor consumes it\n',
      );
    }
  } catch (err) {
    cannotRun((err as Error).message);
  }

  const metrics = metricsFor(opts, process.env, config);
  const submitter = createSubmitter({ url: opts.url, timeoutMs: opts.submitTimeoutMs, ca: opts.ca, insecure: opts.insecure });
  const stop = new AbortController();
  const onSignal = () => {
    process.stderr.write('canary: stopping: no more crashes are sent; following those already sent (press again to quit at once)\n');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const result = await runCanary(opts, {
      runId: randomBytes(6).toString('hex'),
      submit: submitter.submit,
      storage: storage!,
      queue,
      queueNote,
      dumpField: config.breakpad.dumpField,
      metrics,
      out: (text) => process.stdout.write(text),
      writeProm: opts.promFile
        ? (text) => {
            try {
              writeFileAtomically(opts.promFile!, text);
            } catch (err) {
              process.stderr.write(`canary: cannot write --prom-file ${opts.promFile}: ${(err as Error).message}\n`);
            }
          }
        : undefined,
      signal: stop.signal,
    });
    process.exitCode = result.passed ? 0 : 1;
  } catch (err) {
    cannotRun((err as Error).message);
  } finally {
    submitter.close();
    await Promise.allSettled([storage!.close(), queue?.close(), metrics.close()]);
  }
}

if (require.main === module) {
  main().then(
    // Clients (gRPC channels, keep-alive sockets) may hold the loop open after the run; the result is in.
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => cannotRun(`unexpected error: ${(err as Error)?.stack ?? String(err)}`),
  );
}
