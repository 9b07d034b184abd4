import { failureKind, failureReason, isRetryable } from '../../shared/failure';
import type { Logger } from '../../shared/logging';
import { timed, type Metrics } from '../../shared/metrics';
import type { CrashReport } from '../../shared/crash-report';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import { SINK_REFUSALS, SinkRefusal, type CrashSink, type SinkRefusalReason, type SinkOutcome } from './crash-sink';
import { saveThenPublish, type RetryPolicy } from './move-crash';
import { SaveHealth, type SaveFailure } from './save-health';

export interface CrashmoverOptions {
  concurrentCrashmovers: number;
  maxQueueSize: number;
  maxAttempts: number;
  retrySleepSeconds: number;
  retryAfterSeconds: number;
  /** While saves are failing, how often `storage.checkHealth()` is tried to learn that they work again (default 10 s). */
  probeIntervalMs?: number;
}

interface Job {
  crash: CrashReport;
  resolve: (outcome: SinkOutcome) => void;
}

const DEFAULT_PROBE_INTERVAL_MS = 10_000;

/**
 * Saves crashes with at most `concurrentCrashmovers` at once; the others wait
 * in a bounded FIFO queue. A crash counts as saved once storage has it;
 * publishing follows, and its failure does not undo the save (Antenna).
 *
 * Only transient failures are retried. A crash that can never be stored
 * (a permanent failure) is answered `unstorable` at once; a configuration
 * failure is not retried per crash. Once a crash could not be saved, storage
 * counts as failing: new crashes are refused at once (503 with Retry-After)
 * instead of each waiting out the retries, until a save or a periodic probe
 * (`storage.checkHealth()`) succeeds.
 */
export class Crashmover implements CrashSink {
  private readonly queue: Job[] = [];
  private active = 0;
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  private readonly health = new SaveHealth();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** Crashes this mover has finished with, saved or not. */
  handled = 0;
  /** Each stage is tried up to `maxAttempts` times per crash; only transient failures are tried again. */
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly opts: CrashmoverOptions,
    private readonly storage: CrashStorage,
    private readonly publisher: CrashPublisher,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    sleep?: (ms: number) => Promise<void>,
  ) {
    this.retryPolicy = {
      attempts: opts.maxAttempts,
      sleepMs: opts.retrySleepSeconds * 1000,
      sleep,
      retryable: isRetryable,
      onRetry: (stage, crashId, err, attempt) => {
        this.metrics.incr('collector.crashmover.retry_count', [`count:${stage}_crash_exception.count`]);
        this.logger.warn(`${crashId}: ${stage} attempt ${attempt} failed; retrying: ${(err as Error).message}`);
      },
    };
  }

  get queueSize(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.active;
  }

  get retryAfterSeconds(): number {
    return this.opts.retryAfterSeconds;
  }

  /** Saves have been failing since, and why; undefined while they work. */
  get saveFailure(): SaveFailure | undefined {
    return this.health.failing;
  }

  submit(crash: CrashReport): Promise<SinkOutcome> {
    if (this.draining) return Promise.reject(this.refuse('draining'));
    if (this.health.failing) {
      return Promise.reject(this.refuse('storage_failing', `${SINK_REFUSALS.storage_failing} (${this.storage.name} is failing)`));
    }
    if (this.active >= this.opts.concurrentCrashmovers && this.queue.length >= this.opts.maxQueueSize) {
      return Promise.reject(this.refuse('queue_full'));
    }
    return new Promise((resolve) => {
      this.queue.push({ crash, resolve });
      this.metrics.gauge('collector.crashmover.save_queue_size', this.queue.length);
      this.pump();
    });
  }

  drain(): Promise<void> {
    this.draining = true;
    this.stopProbing();
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private refuse(reason: SinkRefusalReason, why?: string): SinkRefusal {
    this.metrics.incr('collector.crashmover.refused.count', [`reason:${reason}`]);
    return new SinkRefusal(reason, this.opts.retryAfterSeconds, why);
  }

  private pump(): void {
    while (this.active < this.opts.concurrentCrashmovers && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      this.metrics.gauge('collector.crashmover.save_queue_size', this.queue.length);
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

  private async handle(crash: CrashReport): Promise<SinkOutcome> {
    const { crashId } = crash;
    return timed(this.metrics, 'collector.crashmover.crash_handling.time', async () => {
      // Only what the storage itself threw says whether storage works (not, say, a metrics bug).
      let fromStorage: unknown;
      const save = () =>
        this.storage.save(crash).catch((err: unknown) => {
          fromStorage = err;
          throw err;
        });
      const outcome = await saveThenPublish(
        { crashId, save, publish: () => this.publisher.publish(crashId), afterSave: () => this.savesWork() },
        this.retryPolicy,
        this.metrics,
        this.logger,
      );
      const { failure } = outcome;
      // Saved at the first try: every write it made has settled. After a
      // failed try (a timed-out upload may still be sending), the GC frees them.
      if (outcome.saved && fromStorage === undefined) crash.doneWithBytes?.();
      if (!outcome.saved) return this.saveFailed(crashId, failure!.error, failure!.error === fromStorage);
      if (outcome.published) {
        this.metrics.incr('collector.crashmover.save_crash.count');
      } else {
        this.logger.error(`${crashId}: too many errors trying to publish; dropped: ${(failure!.error as Error).message}`);
        this.metrics.incr('collector.crashmover.publish_crash_dropped.count');
      }
      return 'saved';
    });
  }

  private saveFailed(crashId: string, err: unknown, storageFailed: boolean): SinkOutcome {
    const kind = failureKind(err);
    const reason = failureReason(err);
    const message = (err as Error).message;
    this.metrics.incr('collector.crashmover.save_failure.count', [`kind:${kind}`, `reason:${reason}`]);
    if (kind === 'permanent') {
      // The crash's own fault: it says nothing about the storage, and no retry would help.
      this.logger.error(`${crashId}: can never be stored (${reason}); refused without retrying: ${message}`);
      return 'unstorable';
    }
    if (kind === 'configuration') this.logger.error(`${crashId}: ${this.storage.name} is misconfigured (${reason}); not retried; dropped: ${message}`);
    else this.logger.error(`${crashId}: too many errors trying to save; dropped: ${message}`);
    this.metrics.incr('collector.crashmover.save_crash_dropped.count');
    if (storageFailed && this.health.failed(err)) {
      this.logger.error(
        `${this.storage.name} cannot save crashes (${message}); new crashes get 503 with Retry-After until a save or a health probe (every ${Math.round(this.probeIntervalMs / 1000)} s) succeeds`,
      );
      this.startProbing();
    }
    return 'failed';
  }

  private savesWork(): void {
    const lasted = this.health.succeeded();
    if (lasted === undefined) return;
    this.stopProbing();
    this.logger.info(`${this.storage.name} saves crashes again after ${Math.round(lasted / 1000)} s; accepting crashes`);
  }

  private get probeIntervalMs(): number {
    return this.opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  }

  private startProbing(): void {
    if (this.probeTimer || this.draining) return;
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** One health probe while saves fail: when it passes, crashes are let through again (and tell whether saves work). */
  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.storage.checkHealth(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('health probe timed out')), this.probeIntervalMs);
        }),
      ]);
      this.savesWork();
    } catch (err) {
      this.logger.debug(`${this.storage.name} health probe still fails: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}
