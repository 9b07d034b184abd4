import { mkdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CrashReport } from '../../shared/crash-report';
import { failureKind, failureReason } from '../../shared/failure';
import type { Logger } from '../../shared/logging';
import { timed, type Metrics } from '../../shared/metrics';
import { CorruptEntryError, decodeEntry } from '../../shared/spool/entry-codec';
import { withState } from '../../shared/spool/layout';
import { ONE_ATTEMPT, saveThenPublish } from '../crashmover/move-crash';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import type { Outage } from './backoff';
import type { Claimed, Claims } from './claims';
import type { Wakeup } from './movers';

export interface EntryMoverDeps {
  claims: Claims;
  /** Where entries no retry can move are set aside (`<spool>/corrupt`). */
  corruptDir: string;
  /** 0 = never expire. */
  maxAgeMs: number;
  storage: CrashStorage;
  publisher: CrashPublisher;
  outage: Outage;
  wake: Wakeup;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Moves one claimed entry with the step the crashmover shares (save, then
 * publish, one attempt each), and deletes it only after both worked. A failed
 * attempt extends the outage's back-off; an entry that can never be moved is
 * set aside in `corrupt/` at once, without backing off the others.
 */
export class EntryMover {
  constructor(private readonly d: EntryMoverDeps) {}

  /** True when the entry is out of the way (moved, expired, set aside); false when it must be tried again later. */
  async move(job: Claimed): Promise<boolean> {
    const { crashId, spooledAt } = job.entry;
    const { maxAgeMs, metrics } = this.d;
    let file = this.d.claims.file(job.name);
    if (maxAgeMs > 0 && Date.now() - spooledAt > maxAgeMs) return this.expire(file, job);
    return timed(metrics, 'collector.crashmover.crash_handling.time', async () => {
      // An entry in the saved state is stored already: only its publish is left.
      let save: (() => Promise<void>) | undefined;
      if (job.entry.state === 'crash') {
        let crash: CrashReport;
        try {
          crash = job.crash ?? decodeEntry(await readFile(file));
        } catch (err) {
          return this.unreadable(file, job, err);
        }
        save = () => this.d.storage.save(crash);
      }
      const fromMemory = job.crash;
      const outcome = await saveThenPublish(
        {
          crashId,
          save,
          publish: () => this.d.publisher.publish(crashId),
          afterSave: async () => {
            const savedName = withState(job.name, 'saved');
            await rename(file, this.d.claims.file(savedName));
            job.name = savedName;
            job.entry = { ...job.entry, state: 'saved' };
            job.crash = undefined;
            file = this.d.claims.file(savedName);
            // Saved at its first try from memory: every write settled, nothing reads the bytes any more.
            fromMemory?.doneWithBytes?.();
          },
        },
        ONE_ATTEMPT,
        metrics,
        this.d.logger,
      );
      const { failure } = outcome;
      // A failed save (a timed-out upload may still be sending) keeps the bytes for the GC, whatever a later try does.
      if (!outcome.saved && job.crash) job.crash = { ...job.crash, doneWithBytes: undefined };
      if (failure) {
        // No retry can store or publish this one: set it aside now rather than back off every mover for it.
        if (failure.kind === 'permanent') return this.quarantine(file, job, failure.error);
        this.failed(failure.stage, crashId, failure.error);
        return false;
      }
      await unlink(file);
      metrics.incr('collector.crashmover.save_crash.count');
      metrics.incr('collector.spool.moved.count');
      this.succeeded();
      return true;
    });
  }

  /** Deletes an entry older than CRASHMOVER_SPOOL_MAX_AGE, unsaved, loudly. */
  private async expire(file: string, job: Claimed): Promise<boolean> {
    const { crashId, spooledAt } = job.entry;
    await unlink(file).catch(() => {});
    this.d.metrics.incr('collector.spool.expired.count');
    this.d.logger.error(
      `${crashId}: expired after ${Math.round((Date.now() - spooledAt) / 1000)} s in the spool (CRASHMOVER_SPOOL_MAX_AGE); deleted without being saved`,
    );
    return true;
  }

  /**
   * An entry file that cannot be read or decoded: gone (moved or deleted by
   * someone else: out of the way), never readable (undecodable, or not a
   * file: set aside), or not now (a disk error: a failed attempt that backs
   * the movers off, like a failed save — retried at once, one such file kept
   * a core busy with 800 error lines in 200 ms).
   */
  private async unreadable(file: string, job: Claimed, err: unknown): Promise<boolean> {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') {
      return this.quarantine(file, job, new CorruptEntryError('a directory, not a file'));
    }
    if (failureKind(err) === 'permanent') return this.quarantine(file, job, err);
    this.d.logger.error(`${job.entry.crashId}: cannot read its spool entry ${file}: ${(err as Error).message}`);
    if (code === 'ENOENT') return true;
    this.failed('save', job.entry.crashId, err);
    return false;
  }

  /** Sets aside an entry no retry can move (a permanent failure), kept for inspection; true when it is out of the way. */
  private async quarantine(file: string, job: Claimed, err: unknown): Promise<boolean> {
    const { logger, metrics, corruptDir: target } = this.d;
    try {
      await mkdir(target, { recursive: true });
      await rename(file, path.join(target, job.name));
    } catch (moveErr) {
      // Left where it is: it goes back to ready/ when this worker stops, and is tried again then.
      logger.error(`${job.entry.crashId}: cannot move its spool entry to ${target}: ${(moveErr as Error).message}`);
    }
    job.crash = undefined;
    if (err instanceof CorruptEntryError) metrics.incr('collector.spool.corrupt.count');
    metrics.incr('collector.spool.quarantined.count', [`reason:${failureReason(err)}`]);
    logger.error(`${job.entry.crashId}: ${(err as Error).message}; can never be moved (${failureReason(err)}); moved to ${target} for inspection`);
    return true;
  }

  /** One failed attempt: counted each time, logged once per outage, and the movers back off. */
  private failed(what: 'save' | 'publish', crashId: string, err: unknown): void {
    const { metrics, logger } = this.d;
    metrics.incr('collector.spool.move_failed.count', [`operation:${what}`]);
    metrics.incr('collector.crashmover.retry_count', [`count:${what}_crash_exception.count`]);
    if (this.d.outage.failed()) {
      logger.error(
        `${what === 'save' ? `${this.d.storage.name} cannot save` : `${this.d.publisher.name} cannot publish`} (${crashId}: ${(err as Error).message}); ` +
          'crashes are kept in the spool and retried with back-off',
      );
    } else {
      logger.debug(`${crashId}: ${what} failed again: ${(err as Error).message}`);
    }
  }

  private succeeded(): void {
    const lasted = this.d.outage.succeeded();
    if (lasted !== undefined) {
      this.d.logger.info(`storage and publishing work again after ${Math.round(lasted / 1000)} s; moving the spooled crashes`);
    }
    this.d.wake.poke();
  }
}
