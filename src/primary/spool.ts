import type { Config } from '../shared/config';
import type { SpoolView } from '../shared/ipc';
import type { Logger } from '../shared/logging';
import type { Metrics } from '../shared/metrics';
import { configuredSpoolPaths, recoverSpool, releaseClaims, resolveSpoolLimit, scanSpool, type SpoolPaths } from '../shared/spool';

const S = 'collector.spool.';

/**
 * The primary's side of the spool: recovery before any worker starts, the
 * node-wide listing every heartbeat (count, bytes, oldest entry, from file
 * names), releasing a dead worker's claims, and the leftover report at exit.
 */
export class PrimarySpool {
  private readonly paths: SpoolPaths;
  private maxBytes = 0;
  private scanning: Promise<SpoolView> | undefined;
  private readonly releasing = new Set<Promise<unknown>>();
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
    if (discarded > 0) this.logger.warn(`spool: discarded ${discarded} half-written entries from a previous run (they were never acknowledged)`);
    this.logger.info(
      `spool at ${this.paths.root}: ${view.crashes} crashes (${view.bytes} bytes) waiting` +
        (released > 0 ? `, ${released} of them released from workers of a previous run` : '') +
        `; limit ${this.maxBytes} bytes`,
    );
  }

  scan(): Promise<SpoolView> {
    this.scanning ??= scanSpool(this.paths)
      .then((stats) => {
        const view: SpoolView = { ...stats, maxBytes: this.maxBytes };
        this.last = view;
        this.metrics.gauge(S + 'crashes', view.crashes);
        this.metrics.gauge(S + 'bytes', view.bytes);
        this.metrics.gauge(S + 'oldest_age_seconds', view.oldestSpooledAt === undefined ? 0 : (Date.now() - view.oldestSpooledAt) / 1000);
        return view;
      })
      .finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  /** A worker exited (or was killed): whatever it had claimed goes back to `ready/`. */
  workerGone(pid: number): void {
    const release = releaseClaims(this.paths, pid).then(
      (n) => n > 0 && this.logger.info(`spool: released ${n} crashes claimed by worker ${pid}`),
      (err: Error) => this.logger.error(`spool: cannot release the crashes claimed by worker ${pid}: ${err.message}`),
    );
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  }

  async reportLeftover(): Promise<void> {
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
