import type { Logger } from '../../shared/logging';
import { timed, type Metrics } from '../../shared/metrics';
import type { CrashReport } from '../../shared/crash-report';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import { QueueFullError, type CrashSink } from './crash-sink';
import { withRetry } from './retry';

export interface CrashmoverOptions {
  concurrentCrashmovers: number;
  maxQueueSize: number;
  maxAttempts: number;
  retrySleepSeconds: number;
  retryAfterSeconds: number;
}

interface Job {
  crash: CrashReport;
  resolve: (outcome: 'saved' | 'failed') => void;
}

const M = 'collector.crashmover.';

/**
 * Saves crashes with at most `concurrentCrashmovers` at once; the others wait
 * in a bounded FIFO queue. A crash counts as saved once storage has it;
 * publishing follows, and its failure does not undo the save (Antenna).
 */
export class Crashmover implements CrashSink {
  private readonly queue: Job[] = [];
  private active = 0;
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  /** Crashes this mover has finished with, saved or not. */
  handled = 0;

  constructor(
    private readonly opts: CrashmoverOptions,
    private readonly storage: CrashStorage,
    private readonly publisher: CrashPublisher,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly sleep?: (ms: number) => Promise<void>,
  ) {}

  get queueSize(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.active;
  }

  submit(crash: CrashReport): Promise<'saved' | 'failed'> {
    if (this.draining) return Promise.reject(new QueueFullError(this.opts.retryAfterSeconds));
    if (this.active >= this.opts.concurrentCrashmovers && this.queue.length >= this.opts.maxQueueSize) {
      return Promise.reject(new QueueFullError(this.opts.retryAfterSeconds));
    }
    return new Promise((resolve) => {
      this.queue.push({ crash, resolve });
      this.metrics.gauge(M + 'save_queue_size', this.queue.length);
      this.pump();
    });
  }

  drain(): Promise<void> {
    this.draining = true;
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.opts.concurrentCrashmovers && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      this.metrics.gauge(M + 'save_queue_size', this.queue.length);
      // handle() settles every storage and publish error itself; a rejection here is a bug
      // elsewhere (logger, metrics) and must still answer the client and free the slot.
      void this.handle(job.crash)
        .then(job.resolve, () => job.resolve('failed'))
        .finally(() => {
          this.active--;
          this.handled++;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) {
            for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        });
    }
  }

  private retryOptions(what: 'save' | 'publish', crashId: string) {
    return {
      attempts: this.opts.maxAttempts,
      sleepMs: this.opts.retrySleepSeconds * 1000,
      sleep: this.sleep,
      onRetry: (err: unknown, attempt: number) => {
        this.metrics.incr(M + 'retry_count', [`count:${what}_crash_exception.count`]);
        this.logger.warn(`${crashId}: ${what} attempt ${attempt} failed; retrying: ${(err as Error).message}`);
      },
    };
  }

  private async handle(crash: CrashReport): Promise<'saved' | 'failed'> {
    const { crashId } = crash;
    return timed(this.metrics, M + 'crash_handling.time', async () => {
      try {
        await withRetry(() => timed(this.metrics, M + 'crash_save.time', () => this.storage.save(crash)), this.retryOptions('save', crashId));
        this.logger.info(`${crashId} saved`);
      } catch (err) {
        this.logger.error(`${crashId}: too many errors trying to save; dropped: ${(err as Error).message}`);
        this.metrics.incr(M + 'save_crash_dropped.count');
        return 'failed';
      }
      try {
        await withRetry(() => timed(this.metrics, M + 'crash_publish.time', () => this.publisher.publish(crashId)), this.retryOptions('publish', crashId));
        this.logger.info(`${crashId} published`);
        this.metrics.incr(M + 'save_crash.count');
      } catch (err) {
        this.logger.error(`${crashId}: too many errors trying to publish; dropped: ${(err as Error).message}`);
        this.metrics.incr(M + 'publish_crash_dropped.count');
      }
      return 'saved';
    });
  }
}
