import type { Config } from '../shared/config';
import type { SpoolView } from '../shared/ipc';
import type { Logger } from '../shared/logging';
import type { Metrics } from '../shared/metrics';
import { configuredSpoolPaths, recoverSpool, releaseClaims, resolveSpoolLimit, scanSpool, sweepSpoolTmp, type SpoolPaths } from '../shared/spool';
import { startPeriodic, type Periodic } from '../shared/stale-files';

/**
 * The primary's side of the spool: recovery before any worker starts, the
 * node-wide listing every heartbeat (count, bytes, oldest entry, from file
 * names), releasing a dead worker's claims, sweeping what killed workers
 * leave in `tmp/`, and the leftover report at exit.
 */
export class PrimarySpool {
  private readonly paths: SpoolPaths;
  private maxBytes = 0;
  private scanning: Promise<SpoolView> | undefined;
  private readonly releasing = new Set<Promise<unknown>>();
  private sweeper: Periodic | undefined;
  last: SpoolView | undefined;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.paths = configuredSpoolPaths(config);
  }

  async recover(): Promise<void> {
    const { discarded, released } = await recoverSpool(this.paths);
    this.maxBytes = await resolveSpoolLimit(this.config.crashmover.spoolMaxBytes, this.paths);
    const view = await this.scan();
    if (discarded > 0) {
      this.logger.warn(`spool: discarded ${discarded} half-written entries from a previous run (they were never acknowledged)`);
      this.metrics.incr('collector.spool.swept.count', [], discarded);
    }
    this.logger.info(
      `spool at ${this.paths.root}: ${view.crashes} crashes (${view.bytes} bytes) waiting` +
        (released > 0 ? `, ${released} of them released from workers of a previous run` : '') +
        `; limit ${this.maxBytes} bytes`,
    );
    const { spoolSweepIntervalSeconds: interval, spoolSweepMinAgeSeconds: minAge } = this.config.crashmover;
    // Start-up recovery just emptied tmp/: the first sweep is one interval away.
    if (interval > 0 && !this.sweeper) this.sweeper = startPeriodic(() => this.sweep(minAge * 1000), interval * 1000, { now: false });
  }

  /** Removes what killed workers left in `tmp/` since start-up; one log line per sweep. */
  private async sweep(minAgeMs: number): Promise<void> {
    try {
      const { removed, failed, firstError } = await sweepSpoolTmp(this.paths, Date.now() - minAgeMs);
      if (removed > 0) this.metrics.incr('collector.spool.swept.count', [], removed);
      this.logger.info(`spool sweep: removed ${removed} files left in ${this.paths.tmp} by interrupted writes`);
      if (failed > 0) this.logger.warn(`spool sweep: ${failed} files could not be removed; first: ${firstError}`);
    } catch (err) {
      this.logger.error(`spool sweep of ${this.paths.tmp} failed: ${(err as Error).message}`);
    }
  }

  scan(): Promise<SpoolView> {
    this.scanning ??= scanSpool(this.paths)
      .then((stats) => {
        const view: SpoolView = { ...stats, maxBytes: this.maxBytes };
        this.last = view;
        this.metrics.gauge('collector.spool.crashes', view.crashes);
        this.metrics.gauge('collector.spool.bytes', view.bytes);
        this.metrics.gauge('collector.spool.oldest_age_seconds', view.oldestSpooledAt === undefined ? 0 : (Date.now() - view.oldestSpooledAt) / 1000);
        return view;
      })
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  /** A worker exited (or was killed): whatever it had claimed goes back to `ready/`. */
  workerGone(pid: number): void {
    const release = releaseClaims(this.paths, pid).then(
      (n) => {
        if (n === 0) return;
        this.logger.info(`spool: released ${n} crashes claimed by worker ${pid}`);
        this.metrics.incr('collector.spool.released.count', [], n);
      },
      (err: Error) => this.logger.error(`spool: cannot release the crashes claimed by worker ${pid}: ${err.message}`),
    );
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  }

  async reportLeftover(): Promise<void> {
    await this.sweeper?.stop();
    this.sweeper = undefined;
    // Entries move between claimed/ and ready/ while claims are released; count after.
    await Promise.all(this.releasing);
    const view = await this.scan().catch(() => undefined);
    if (view && view.crashes > 0) {
      this.logger.warn(`spool: ${view.crashes} crashes (${view.bytes} bytes) are still in ${this.paths.root}; they will be moved on the next start`);
    } else if (view) {
      this.logger.info('spool: empty');
    }
  }
}
