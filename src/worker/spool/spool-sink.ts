import { unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, type CrashReport } from '../../shared/crash-report';
import { fsyncDir, writeFileDurably } from '../../shared/durable-file';
import type { Logger } from '../../shared/logging';
import { failureKind, failureReason } from '../../shared/failure';
import type { Metrics } from '../../shared/metrics';
import { encodeEntry } from '../../shared/spool/entry-codec';
import { entryFileName, type EntryName, type SpoolPaths } from '../../shared/spool/layout';
import { ensureSpoolDirs, type SpoolStats } from '../../shared/spool/spool-dir';
import { SinkRefusal, type CrashSink, type SinkRefusalReason, type SinkOutcome } from '../crashmover/crash-sink';
import type { CrashPublisher } from '../publish/crash-publisher';
import type { CrashStorage } from '../storage/crash-storage';
import { Outage } from './backoff';
import { admit, ByteBudget, keepInMemory } from './budget';
import { Claims } from './claims';
import { EntryMover } from './move-entry';
import { Movers, Wakeup } from './movers';

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

/**
 * Store-and-forward (docs/spool.md). `submit` answers `saved` once the crash
 * is one fsynced file in the spool; movers then save it to storage and
 * publish its id, and delete the file only after both succeeded. While
 * storage or publishing fails, the movers back off exponentially (capped)
 * and crashes stay on disk, never in memory. An entry that can never be moved
 * (undecodable, or a permanent storage failure) is set aside in `corrupt/` at
 * once and does not back off the others.
 *
 * This is the composition: admission and the byte budget (budget.ts), this
 * worker's claims (claims.ts), the mover loops (movers.ts) and the move of
 * one entry (move-entry.ts), with the outage's back-off (backoff.ts).
 */
export class SpoolSink implements CrashSink {
  private draining = false;
  private readonly wake = new Wakeup();
  private readonly budget: ByteBudget;
  private readonly outage: Outage;
  private readonly claims: Claims;
  private readonly movers: Movers;

  constructor(
    private readonly opts: SpoolOptions,
    storage: CrashStorage,
    publisher: CrashPublisher,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.budget = new ByteBudget(opts.maxBytes);
    this.outage = new Outage(opts.backoffBaseMs, opts.backoffMaxMs);
    this.claims = new Claims(opts.paths, opts.owner ?? process.pid, opts.concurrentMovers, logger);
    const { claims, outage, wake } = this;
    const corruptDir = path.join(opts.paths.root, 'corrupt');
    const entries = new EntryMover({ claims, corruptDir, maxAgeMs: opts.maxAgeMs, storage, publisher, outage, wake, metrics, logger });
    this.movers = new Movers(opts, claims, outage, wake, (job) => entries.move(job), metrics, logger);
  }

  async start(): Promise<void> {
    await ensureSpoolDirs(this.opts.paths);
    await this.claims.ensureDir();
    this.movers.start();
  }

  get queueSize(): number {
    return this.claims.size;
  }

  get inFlight(): number {
    return this.movers.inFlight;
  }

  get retryAfterSeconds(): number {
    return this.opts.retryAfterSeconds;
  }

  /** Entries moved (or expired, or set aside) since start. */
  get handled(): number {
    return this.movers.handled;
  }

  /** The storage or publisher has been failing since (epoch ms), or undefined. */
  get outageSince(): number | undefined {
    return this.outage.since;
  }

  /** The primary's node-wide listing (every heartbeat). */
  updateStats(stats: SpoolStats): void {
    this.budget.update(stats);
  }

  /** Bytes in the spool as best known: the last listing plus this worker's writes since. */
  usedBytes(): number {
    return this.budget.usedBytes();
  }

  isFull(): boolean {
    return this.budget.isFull();
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
    const { maxBytes } = this.opts;
    const admission = admit({ bytes, usedBytes: this.budget.usedBytes(), maxBytes, claimed: this.claims.size, maxClaimed: this.opts.maxClaimed });
    if ('refuse' in admission) throw this.refuse(admission.refuse);
    const entry: EntryName = { spooledAt: Date.now(), bytes, crashId: crash.crashId, state: 'crash' };
    const name = entryFileName(entry);
    const claim = admission.into === 'claimed';
    await this.write(crash.crashId, claim ? this.claims.dir : this.opts.paths.ready, name, parts);
    this.budget.record(bytes);
    this.logger.info(`${crash.crashId} spooled`);
    const keep = claim && keepInMemory(this.movers.inFlight, this.claims.size, this.opts.concurrentMovers);
    // The entry is written and settled: unless a mover saves it from memory, nothing reads the bytes any more.
    if (!keep) crash.doneWithBytes?.();
    if (claim) {
      this.claims.add({ name, entry, crash: keep ? crash : undefined });
      this.metrics.gauge('collector.crashmover.save_queue_size', this.claims.size);
    }
    this.wake.poke();
    return 'saved';
  }

  drain(): Promise<void> {
    this.draining = true;
    return this.movers.drain();
  }

  /** Stops the movers (tests, the spool tool); claimed entries stay for the next start. */
  async stop(): Promise<void> {
    await this.movers.stop();
  }

  /** For `/__heartbeat__`: can we still write to the spool? */
  async checkWritable(): Promise<void> {
    // Directories removed under a running node (by hand, a cleanup job) come back here, within one health interval.
    await ensureSpoolDirs(this.opts.paths);
    await this.claims.ensureDir();
    const probe = path.join(this.opts.paths.tmp, `.probe-${process.pid}`);
    await writeFile(probe, 'ok');
    await unlink(probe);
  }

  /** Writes one entry durably into `dir`; refuses the crash when it cannot (it is never acknowledged then). */
  private async write(crashId: string, dir: string, name: string, parts: Buffer[]): Promise<void> {
    try {
      await writeFileDurably(path.join(dir, name), parts, this.opts.paths.tmp);
      await fsyncDir(dir);
    } catch (err) {
      // Disk full, read-only, gone: the crash is refused, never acknowledged.
      this.logger.error(`${crashId}: cannot write to the spool ${this.opts.paths.root}: ${(err as Error).message}`);
      throw this.refuse('write_error');
    }
  }

  private refuse(reason: SinkRefusalReason): SinkRefusal {
    this.metrics.incr('collector.spool.refused.count', [`reason:${reason}`]);
    return new SinkRefusal(reason, this.opts.retryAfterSeconds);
  }
}
