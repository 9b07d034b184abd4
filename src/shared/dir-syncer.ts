import { open, stat, type FileHandle } from 'node:fs/promises';
import { windowElapsed } from './group-commit';

export interface DirSyncerOptions {
  /**
   * How long (µs) an idle directory waits before its fsync starts, so that
   * renames finishing close together share it (see group-commit.ts). 0 = start
   * at once.
   */
  windowUs?: number;
}

/**
 * fsyncs of directories that stay open and are shared: a caller whose rename
 * is done waits for an fsync that starts after its call, and every caller
 * that arrives while one runs shares the next. Under load that is one fsync
 * per directory per round instead of one (plus an open and a close) per file.
 */
export class DirSyncer {
  private readonly dirs = new Map<string, { sync: () => Promise<void>; close: () => Promise<void> }>();

  constructor(
    private readonly maxOpen = 32,
    private readonly opts: DirSyncerOptions = {},
  ) {}

  sync(dir: string): Promise<void> {
    let entry = this.dirs.get(dir);
    if (!entry) {
      if (this.dirs.size >= this.maxOpen) {
        const [oldest, old] = this.dirs.entries().next().value!;
        this.dirs.delete(oldest);
        void old.close();
      }
      entry = dirSyncer(dir, this.opts.windowUs ?? 0);
      this.dirs.set(dir, entry);
    }
    return entry.sync();
  }

  /** Closes every directory handle. */
  async close(): Promise<void> {
    const all = [...this.dirs.values()];
    this.dirs.clear();
    await Promise.all(all.map((e) => e.close()));
  }
}

/** A directory handle and the directory it opened, to notice when another has taken its name. */
interface OpenDir {
  fh: FileHandle;
  dev: number;
  ino: number;
}

async function openDir(dir: string): Promise<OpenDir> {
  const fh = await open(dir, 'r');
  try {
    const { dev, ino } = await fh.stat();
    return { fh, dev, ino };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/**
 * Whether a kept handle is still the directory under `dir`: one removed and
 * made again (a retention job, an operator, another worker) has a new inode,
 * and an fsync of the old one makes nothing under the name durable.
 */
async function isCurrent(dir: string, h: Promise<OpenDir>): Promise<boolean> {
  // Asynchronous, though a statSync would save a thread-pool trip: on a network
  // filesystem a stat waits for the server, and the event loop must not.
  const [d, now] = await Promise.all([h, stat(dir).catch(() => undefined)]);
  return now !== undefined && now.ino === d.ino && now.dev === d.dev;
}

function dirSyncer(dir: string, windowUs: number): { sync: () => Promise<void>; close: () => Promise<void> } {
  let handle: Promise<OpenDir> | undefined;
  let closed = false;
  const drop = async (h: Promise<OpenDir>) => {
    if (handle === h) handle = undefined;
    await h.then((d) => d.fh.close()).catch(() => {});
  };
  const syncWith = async (h: Promise<OpenDir>) => {
    if (!closed) handle = h;
    try {
      await (await h).fh.sync();
    } catch (err) {
      // Start afresh next time (the directory may have been replaced, or the disk recovered).
      await drop(h);
      throw err;
    }
    if (closed) await drop(h);
  };
  const once = async () => {
    const kept = handle;
    if (!kept) return syncWith(openDir(dir));
    // The check runs beside the fsync, not before it: a stat ahead of every
    // round lengthened each round by a thread-pool trip, and rounds are serial.
    const [, stillCurrent] = await Promise.all([
      syncWith(kept),
      // Stryker disable next-line ArrowFunction: undefined and false are both "not current" here
      isCurrent(dir, kept).catch(() => false),
    ]);
    if (stillCurrent) return;
    // Replaced under us: the fsync above went to the old directory. Sync the one under the name.
    await drop(kept);
    await syncWith(openDir(dir));
  };
  let running: Promise<void> | undefined;
  /** The next round, not started yet: a caller joining it renamed before its fsync starts. */
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const p: Promise<void> = once().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return {
    sync() {
      if (queued) return queued;
      if (!running) {
        if (windowUs <= 0) return start();
        queued = windowElapsed(windowUs).then(() => {
          queued = undefined;
          return start();
        });
        return queued;
      }
      queued = running
        .catch(() => {})
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    async close() {
      closed = true;
      await Promise.all([running, queued].map((p) => p?.catch(() => {})));
      if (handle) await drop(handle);
    },
  };
}
