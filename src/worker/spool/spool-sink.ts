import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, type CrashReport } from '../../shared/crash-report';
import { fsyncDir, writeFileDurably } from '../../shared/durable-file';
import type { Logger } from '../../shared/logging';
import { failureKind, failureReason } from '../../shared/failure';
import { timed, type Metrics } from '../../shared/metrics';
import { CorruptEntryError, decodeEntry, encodeEntry } from '../../shared/spool/entry-codec';
import { entryFileName, parseEntryName, withState, type EntryName, type SpoolPaths } from '../../shared/spool/layout';
import { ensureSpoolDirs, listDir, type SpoolStats } from '../../shared/spool/spool-dir';
import { SinkRefusal, type CrashSink, type SinkRefusalReason, type SinkOutcome } from '../crashmover/crash-sink';
import { ONE_ATTEMPT, saveThenPublish } from '../crashmover/move-crash';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';

export interface SpoolOptions {
  paths: SpoolPaths;
  maxBytes: number;
  /** 0 = never expire. */
  maxAgeMs: number;
  concurrentMovers: number;
  /** Most claimed entries one worker keeps queued; beyond, new entries go to `ready/` for any worker. */
  maxClaimed: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  retryAfterSeconds: number;
  /** How long an idle mover waits before looking at `ready/` again. */
  idleScanMs: number;
  /** Whose claims these are (default: this process's pid; the primary releases them when it exits). */
  owner?: number;
}

interface Claimed {
  name: string;
  entry: EntryName;
  /** Kept only for entries this worker just wrote and will move soon. */
  crash?: CrashReport;
}

const HEADROOM = 1024 * 1024;

/**
 * Store-and-forward (docs/spool.md). `submit` answers `saved` once the crash
 * is one fsynced file in the spool; movers then save it to storage and
 * publish its id, and delete the file only after both succeeded. While
 * storage or publishing fails, the movers back off exponentially (capped)
 * and crashes stay on disk, never in memory. An entry that can never be moved
 * (undecodable, or a permanent storage failure) is set aside in `corrupt/` at
 * once and does not back off the others.
 */
export class SpoolSink implements CrashSink {
  private readonly queue: Claimed[] = [];
  private active = 0;
  private draining = false;
  private stopped = false;
  private failures = 0;
  private failingSince = 0;
  private backoffUntil = 0;
  /** Movers waiting in idle(); each removes itself when its wait ends, however it ends. */
  private readonly wake = new Set<() => void>();
  private idleWaiters: Array<() => void> = [];
  private readonly myClaims: string;
  /** The primary's last listing, plus what this worker added since. */
  private stats: SpoolStats | undefined;
  private addedSince: Array<{ at: number; bytes: number }> = [];
  private loops: Promise<void>[] = [];
  handled = 0;

  constructor(
    private readonly opts: SpoolOptions,
    private readonly storage: CrashStorage,
    private readonly publisher: CrashPublisher,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.myClaims = opts.paths.claimedBy(opts.owner ?? process.pid);
  }

  async start(): Promise<void> {
    await ensureSpoolDirs(this.opts.paths);
    await ensureDirExists(this.myClaims);
    for (let i = 0; i < this.opts.concurrentMovers; i++) this.loops.push(this.moverLoop());
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

  /** The storage or publisher has been failing since (epoch ms), or undefined. */
  get outageSince(): number | undefined {
    return this.failures > 0 ? this.failingSince : undefined;
  }

  /** The primary's node-wide listing (every heartbeat). */
  updateStats(stats: SpoolStats): void {
    this.stats = stats;
    this.addedSince = this.addedSince.filter((a) => a.at >= stats.scannedAt);
  }

  /** Bytes in the spool as best known: the last listing plus this worker's writes since. */
  usedBytes(): number {
    return (this.stats?.bytes ?? 0) + this.addedSince.reduce((n, a) => n + a.bytes, 0);
  }

  isFull(): boolean {
    return this.usedBytes() + HEADROOM > this.opts.maxBytes;
  }

  async submit(crash: CrashReport): Promise<SinkOutcome> {
    if (this.draining) throw this.refuse('draining');
    let parts: Buffer[];
    try {
      parts = encodeEntry(crash);
    } catch (err) {
      // Never acknowledge what could not be written whole.
      const reason = failureReason(err);
      this.metrics.incr('collector.crashmover.save_failure.count', [`kind:${failureKind(err)}`, `reason:${reason}`]);
      this.logger.error(`${crash.crashId}: cannot be spooled (${reason}); refused: ${(err as Error).message}`);
      return 'unstorable';
    }
    const bytes = byteLength(parts);
    if (this.usedBytes() + bytes > this.opts.maxBytes) {
      throw this.refuse('full');
    }
    const entry: EntryName = { spooledAt: Date.now(), bytes, crashId: crash.crashId, state: 'crash' };
    const name = entryFileName(entry);
    const claim = this.queue.length < this.opts.maxClaimed;
    const dir = claim ? this.myClaims : this.opts.paths.ready;
    try {
      await writeFileDurably(path.join(dir, name), parts, this.opts.paths.tmp);
      await fsyncDir(dir);
    } catch (err) {
      // Disk full, read-only, gone: the crash is refused, never acknowledged.
      this.logger.error(`${crash.crashId}: cannot write to the spool ${this.opts.paths.root}: ${(err as Error).message}`);
      throw this.refuse('write_error');
    }
    this.addedSince.push({ at: Date.now(), bytes });
    this.logger.info(`${crash.crashId} spooled`);
    if (claim) {
      // Keep the bytes only when a mover will take it right away.
      this.queue.push({ name, entry, crash: this.active + this.queue.length < this.opts.concurrentMovers ? crash : undefined });
      this.metrics.gauge('collector.crashmover.save_queue_size', this.queue.length);
    }
    this.poke();
    return 'saved';
  }

  drain(): Promise<void> {
    this.draining = true;
    this.poke();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Stops the movers (tests, the spool tool); claimed entries stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await Promise.all(this.loops);
  }

  private refuse(reason: SinkRefusalReason): SinkRefusal {
    this.metrics.incr('collector.spool.refused.count', [`reason:${reason}`]);
    return new SinkRefusal(reason, this.opts.retryAfterSeconds);
  }

  private poke(): void {
    for (const w of [...this.wake]) w();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private checkIdle(): void {
    if (this.draining && this.active === 0 && this.queue.length === 0 && this.readyLooksEmpty) {
      for (const r of this.idleWaiters.splice(0)) r();
    }
  }

  private readyLooksEmpty = false;
  private claiming: Promise<void> | undefined;

  /** Claims up to one batch from `ready/`, oldest first, by rename: one worker wins each entry. */
  private claimFromReady(): Promise<void> {
    this.claiming ??= (async () => {
      try {
        const names = (await listDir(this.opts.paths.ready)).filter((n) => parseEntryName(n)).sort(bySpooledAt);
        this.readyLooksEmpty = names.length === 0;
        for (const name of names) {
          if (this.queue.length >= this.opts.concurrentMovers) break;
          try {
            await rename(path.join(this.opts.paths.ready, name), path.join(this.myClaims, name));
            this.queue.push({ name, entry: parseEntryName(name)! });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
      } catch (err) {
        this.logger.error(`cannot read the spool ${this.opts.paths.ready}: ${(err as Error).message}`);
      } finally {
        this.claiming = undefined;
      }
    })();
    return this.claiming;
  }

  private async moverLoop(): Promise<void> {
    while (!this.stopped) {
      let job = this.queue.shift();
      if (!job) {
        await this.claimFromReady();
        job = this.queue.shift();
      }
      if (!job) {
        this.checkIdle();
        await this.idle(this.opts.idleScanMs);
        continue;
      }
      const wait = this.backoffUntil - Date.now();
      if (wait > 0) {
        this.queue.unshift(job);
        await this.idle(Math.min(wait, this.opts.idleScanMs));
        if (this.stopped) break;
        if (Date.now() < this.backoffUntil) continue;
        job = this.queue.shift();
        if (!job) continue;
      }
      this.active++;
      try {
        const done = await this.move(job).catch((err: NodeJS.ErrnoException) => {
          // The entry file itself misbehaves (vanished, unreadable): never end the loop over it.
          this.logger.error(`${job!.entry.crashId}: spool entry ${job!.name}: ${err.message}`);
          return err.code === 'ENOENT';
        });
        if (!done) this.queue.push({ name: job.name, entry: job.entry });
        else this.handled++;
      } finally {
        this.active--;
        this.metrics.gauge('collector.crashmover.save_queue_size', this.queue.length);
        this.checkIdle();
      }
    }
  }

  /** Moves one entry; false when it must be tried again later. */
  private async move(job: Claimed): Promise<boolean> {
    const { crashId, spooledAt } = job.entry;
    let file = path.join(this.myClaims, job.name);
    if (this.opts.maxAgeMs > 0 && Date.now() - spooledAt > this.opts.maxAgeMs) {
      await unlink(file).catch(() => {});
      this.metrics.incr('collector.spool.expired.count');
      this.logger.error(
        `${crashId}: expired after ${Math.round((Date.now() - spooledAt) / 1000)} s in the spool (CRASHMOVER_SPOOL_MAX_AGE); deleted without being saved`,
      );
      return true;
    }
    return timed(this.metrics, 'collector.crashmover.crash_handling.time', async () => {
      // An entry in the saved state is stored already: only its publish is left.
      let save: (() => Promise<void>) | undefined;
      if (job.entry.state === 'crash') {
        let crash: CrashReport;
        try {
          crash = job.crash ?? decodeEntry(await readFile(file));
        } catch (err) {
          return this.quarantine(file, job, err);
        }
        save = () => this.storage.save(crash);
      }
      const outcome = await saveThenPublish(
        {
          crashId,
          save,
          publish: () => this.publisher.publish(crashId),
          afterSave: async () => {
            const savedName = withState(job.name, 'saved');
            await rename(file, path.join(this.myClaims, savedName));
            job.name = savedName;
            job.entry = { ...job.entry, state: 'saved' };
            job.crash = undefined;
            file = path.join(this.myClaims, savedName);
          },
        },
        ONE_ATTEMPT,
        this.metrics,
        this.logger,
      );
      const { failure } = outcome;
      if (failure) {
        // No retry can store or publish this one: set it aside now rather than back off every mover for it.
        if (failure.kind === 'permanent') return this.quarantine(file, job, failure.error);
        this.failed(failure.stage, crashId, failure.error);
        return false;
      }
      await unlink(file);
      this.metrics.incr('collector.crashmover.save_crash.count');
      this.metrics.incr('collector.spool.moved.count');
      this.succeeded();
      return true;
    });
  }

  /** Sets aside an entry no retry can move (a permanent failure), kept for inspection; true when it is out of the way. */
  private async quarantine(file: string, job: Claimed, err: unknown): Promise<boolean> {
    if (failureKind(err) !== 'permanent') {
      this.logger.error(`${job.entry.crashId}: cannot read its spool entry ${file}: ${(err as Error).message}`);
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
    const target = path.join(this.opts.paths.root, 'corrupt');
    try {
      await ensureDirExists(target);
      await rename(file, path.join(target, job.name));
    } catch (moveErr) {
      // Left where it is: it goes back to ready/ when this worker stops, and is tried again then.
      this.logger.error(`${job.entry.crashId}: cannot move its spool entry to ${target}: ${(moveErr as Error).message}`);
    }
    job.crash = undefined;
    if (err instanceof CorruptEntryError) this.metrics.incr('collector.spool.corrupt.count');
    this.metrics.incr('collector.spool.quarantined.count', [`reason:${failureReason(err)}`]);
    this.logger.error(`${job.entry.crashId}: ${(err as Error).message}; can never be moved (${failureReason(err)}); moved to ${target} for inspection`);
    return true;
  }

  private failed(what: 'save' | 'publish', crashId: string, err: unknown): void {
    this.metrics.incr('collector.spool.move_failed.count', [`operation:${what}`]);
    this.metrics.incr('collector.crashmover.retry_count', [`count:${what}_crash_exception.count`]);
    if (this.failures === 0) {
      this.failingSince = Date.now();
      this.logger.error(
        `${what === 'save' ? `${this.storage.name} cannot save` : `${this.publisher.name} cannot publish`} (${crashId}: ${(err as Error).message}); ` +
          'crashes are kept in the spool and retried with back-off',
      );
    } else {
      this.logger.debug(`${crashId}: ${what} failed again: ${(err as Error).message}`);
    }
    this.failures++;
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.min(this.failures - 1, 30));
    this.backoffUntil = Date.now() + delay;
  }

  private succeeded(): void {
    if (this.failures > 0) {
      this.logger.info(`storage and publishing work again after ${Math.round((Date.now() - this.failingSince) / 1000)} s; moving the spooled crashes`);
    }
    this.failures = 0;
    this.backoffUntil = 0;
    this.poke();
  }

  /** For `/__heartbeat__`: can we still write to the spool? */
  async checkWritable(): Promise<void> {
    // Directories removed under a running node (by hand, a cleanup job) come back here, within one health interval.
    await ensureSpoolDirs(this.opts.paths);
    await ensureDirExists(this.myClaims);
    const probe = path.join(this.opts.paths.tmp, `.probe-${process.pid}`);
    await writeFile(probe, 'ok');
    await unlink(probe);
  }
}

function bySpooledAt(a: string, b: string): number {
  return parseEntryName(a)!.spooledAt - parseEntryName(b)!.spooledAt || (a < b ? -1 : 1);
}

async function ensureDirExists(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
