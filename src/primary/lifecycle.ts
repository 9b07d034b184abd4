import type { Config } from '../shared/config';
import type { Logger } from '../shared/logging';
import { describeError, type Supervisor } from './supervisor';

export interface LifecycleHooks {
  /** Before the primary exits after a drain, whatever the code (the spool's leftover report). */
  beforeExit(): Promise<void>;
  /** After a complete drain, before exit 0 (closing the metrics client). */
  afterDrain(): Promise<void>;
  exit(code: number): void;
}

/**
 * The node's life after start-up: a drain on SIGTERM/SIGINT (exit 0, or 1
 * when GRACEFUL_TIMEOUT cuts it short) and a rolling reload on SIGHUP.
 */
export class Lifecycle {
  private draining = false;
  private reloading = false;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly supervisor: Supervisor,
    private readonly hooks: LifecycleHooks,
  ) {}

  drain(signal: string): void {
    if (this.draining || !this.supervisor.running) return;
    this.draining = true;
    const { gracefulTimeoutSeconds } = this.config.cluster;
    this.supervisor.stop();
    this.log.info(`${signal} received: draining ${this.supervisor.size} workers (up to ${gracefulTimeoutSeconds} s)`);
    this.supervisor.broadcast({ type: 'antenna:shutdown' });
    if (this.supervisor.size === 0) this.drained();
    this.drainTimer = setTimeout(() => {
      const left = this.supervisor.workers();
      this.log.error(`GRACEFUL_TIMEOUT reached: killing ${left.length} workers that have not drained`);
      for (const t of left) t.worker.process.kill('SIGKILL');
      void this.hooks.beforeExit().finally(() => this.hooks.exit(1));
    }, gracefulTimeoutSeconds * 1000);
  }

  /** Every worker has exited after a drain. */
  drained(): void {
    clearTimeout(this.drainTimer);
    this.log.info('all workers have exited; primary exiting');
    void this.hooks
      .beforeExit()
      .then(() => this.hooks.afterDrain())
      .finally(() => this.hooks.exit(0));
  }

  /** Replaces the workers one at a time, each old one drained only once its replacement listens. */
  async reload(): Promise<void> {
    if (this.reloading || !this.supervisor.running) return;
    this.reloading = true;
    const old = this.supervisor.workers();
    const startTimeoutS = this.config.cluster.workerStartTimeoutSeconds;
    this.log.info(`SIGHUP received: replacing ${old.length} workers one at a time`);
    try {
      for (const t of old) {
        if (!this.supervisor.running) return;
        if (t.worker.isDead()) continue;
        const next = this.supervisor.tryFork();
        if (next instanceof Error) {
          this.log.error(`reload stopped: cannot fork a new worker (${describeError(next)}); old workers keep serving`);
          return;
        }
        if (!(await this.supervisor.waitListening(next, startTimeoutS * 1000))) {
          this.log.error(
            `reload stopped: new worker ${next.worker.process.pid} did not start listening within WORKER_START_TIMEOUT=${startTimeoutS} s; old workers keep serving`,
          );
          return;
        }
        await this.supervisor.retire(t);
      }
      this.log.info('reload complete');
    } finally {
      this.reloading = false;
    }
  }
}
