import { loadConfig, ConfigError } from '../shared/config';
import { createLogger } from '../shared/logging';
import { noopMetrics } from '../shared/metrics';
import { configuredSpoolPaths, releaseClaims, scanSpool, type SpoolStats } from '../shared/spool';
import { createPublisher, createStorage } from '../worker/backends';
import { spoolOptions } from '../worker/spool/create';
import { SpoolSink } from '../worker/spool/spool-sink';

const USAGE = `Usage: npm run spool -- <command> [--json] [--timeout SECONDS]

  status   show what the spool (CRASHMOVER_SPOOL_DIR) holds
  drain    move every spooled crash to the configured storage and queue now,
           then exit; safe next to a running collector (entries are claimed
           by rename, one mover each)

Configuration comes from the same environment variables as the collector.`;

/** How often the drain looks at `ready/` again: soon, so that it ends soon after the spool is empty. */
const DRAIN_SCAN_MS = 200;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(stats: SpoolStats, dir: string): string {
  const age = stats.oldestSpooledAt === undefined ? '—' : `${Math.round((Date.now() - stats.oldestSpooledAt) / 1000)} s`;
  const lines = [`spool ${dir}`, `  crashes: ${stats.crashes}`, `  bytes:   ${stats.bytes}`, `  oldest:  ${age}`];
  for (const [pid, n] of Object.entries(stats.claimed)) {
    lines.push(`  claimed by ${pid}: ${n}${isAlive(Number(pid)) ? '' : ' (process gone: released at the next start or by drain)'}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  const json = argv.includes('--json');
  const t = argv.indexOf('--timeout');
  const timeoutMs = t >= 0 ? Number(argv[t + 1]) * 1000 : Infinity;
  if (command !== 'status' && command !== 'drain') {
    process.stderr.write(`${USAGE}\n`);
    return command === '--help' || command === undefined ? 0 : 2;
  }
  const config = loadConfig(process.env);
  const paths = configuredSpoolPaths(config);

  if (command === 'status') {
    const stats = await scanSpool(paths);
    process.stdout.write(json ? `${JSON.stringify({ dir: paths.root, ...stats })}\n` : `${describe(stats, paths.root)}\n`);
    return 0;
  }

  const logger = createLogger({ level: config.logging.level, localDevEnv: true, hostname: config.server.hostname, stream: process.stderr });
  for (const pid of Object.keys((await scanSpool(paths)).claimed)) {
    if (!isAlive(Number(pid))) await releaseClaims(paths, pid);
  }
  const storage = await createStorage(config, logger);
  const publisher = await createPublisher(config, logger);
  const sink = new SpoolSink(await spoolOptions(config, { idleScanMs: DRAIN_SCAN_MS }), storage, publisher, logger, noopMetrics);
  await sink.start();
  const drained = sink.drain().then(() => true);
  const timedOut = Number.isFinite(timeoutMs) ? new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()) : new Promise<boolean>(() => {});
  const done = await Promise.race([drained, timedOut]);
  await sink.stop();
  await Promise.allSettled([storage.close(), publisher.close()]);
  await releaseClaims(paths, process.pid);
  const left = await scanSpool(paths);
  const result = { moved: sink.handled, left: left.crashes, complete: done };
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : `moved ${result.moved} crashes; ${result.left} left in the spool${done ? '' : ' (timed out)'}\n`);
  return done ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err.stack ?? err.message)}\n`);
    process.exit(1);
  },
);
