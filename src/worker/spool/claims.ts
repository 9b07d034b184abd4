import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { CrashReport } from '../../shared/crash-report';
import type { Logger } from '../../shared/logging';
import { parseEntryName, type EntryName, type SpoolPaths } from '../../shared/spool/layout';
import { listDir } from '../../shared/spool/spool-dir';

/** An entry in this worker's `claimed/<owner>/`, waiting for a mover. */
export interface Claimed {
  name: string;
  entry: EntryName;
  /** Kept only for entries this worker just wrote and will move soon. */
  crash?: CrashReport;
}

/**
 * This worker's claims: the entries in `claimed/<owner>/`, queued for its
 * movers. An entry becomes a claim when this worker writes it there or renames
 * it there from `ready/` (a rename succeeds for exactly one worker, so each
 * entry is moved by one worker at a time). Claims outlive the worker: the
 * primary gives them back to `ready/` when it exits, or at the next start.
 */
export class Claims {
  /** `claimed/<owner>/`. */
  readonly dir: string;
  private readonly queue: Claimed[] = [];
  private claiming: Promise<void> | undefined;
  private readyEmpty = false;

  constructor(
    private readonly paths: SpoolPaths,
    owner: number,
    /** Most entries queued here by one look at `ready/`. */
    private readonly batch: number,
    private readonly logger: Logger,
  ) {
    this.dir = paths.claimedBy(owner);
  }

  /** Makes `claimed/<owner>/` (again, if it was removed under a running node). */
  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Claimed entries waiting for a mover. */
  get size(): number {
    return this.queue.length;
  }

  /** The last look at `ready/` found nothing there. */
  get readyLooksEmpty(): boolean {
    return this.readyEmpty;
  }

  /** An entry this worker just wrote into its claims. */
  add(claim: Claimed): void {
    this.queue.push(claim);
  }

  next(): Claimed | undefined {
    return this.queue.shift();
  }

  /** Puts a claim taken with `next` back in front (its mover is holding off). */
  putBack(claim: Claimed): void {
    this.queue.unshift(claim);
  }

  /** Queues a claim behind the others to be tried again; its bytes are read back from disk then. */
  retryLater(claim: Claimed): void {
    this.queue.push({ name: claim.name, entry: claim.entry });
  }

  /** Claims up to one batch from `ready/`, oldest first, by rename: one worker wins each entry. */
  claimFromReady(): Promise<void> {
    this.claiming ??= (async () => {
      try {
        const names = (await listDir(this.paths.ready)).filter((n) => parseEntryName(n)).sort(bySpooledAt);
        this.readyEmpty = names.length === 0;
        for (const name of names) {
          if (this.queue.length >= this.batch) break;
          try {
            await rename(path.join(this.paths.ready, name), this.file(name));
            this.queue.push({ name, entry: parseEntryName(name)! });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
      } catch (err) {
        this.logger.error(`cannot read the spool ${this.paths.ready}: ${(err as Error).message}`);
      } finally {
        this.claiming = undefined;
      }
    })();
    return this.claiming;
  }
}

function bySpooledAt(a: string, b: string): number {
  return parseEntryName(a)!.spooledAt - parseEntryName(b)!.spooledAt || (a < b ? -1 : 1);
}
