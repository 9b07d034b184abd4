import { createGunzip, type Gunzip } from 'node:zlib';
import type { PayloadLimits } from './read-payload';
import { SyncGunzip, syncGunzipAvailable } from './sync-gunzip';

/**
 * Output buffer of the gunzip: a slice of inflated bytes handed on at once.
 * Through a stream, zlib's default (16 KiB) made a 4 MB dump 256 trips to the
 * thread pool and back, and 64 KiB cut the CPU of inflating it by a third
 * (docs/performance.md).
 */
const GUNZIP_CHUNK_SIZE = 64 * 1024;

/**
 * Inflated size below which any compression ratio is accepted: a small crash
 * of very regular bytes is never refused for its ratio, and a bomb is stopped
 * after inflating this much instead of BREAKPAD_MAX_DECOMPRESSED_SIZE.
 */
export const GZIP_RATIO_FLOOR = 10 * 1024 * 1024;

/** Whether `inflated` bytes out of `received` body bytes are more than the limits allow. */
export function inflatedTooLarge(inflated: number, received: number, limits: Pick<PayloadLimits, 'maxDecompressedSize' | 'maxGzipRatio'>): boolean {
  if (inflated > limits.maxDecompressedSize) return true;
  return limits.maxGzipRatio > 0 && inflated > GZIP_RATIO_FLOOR && inflated > limits.maxGzipRatio * received;
}

/** Where a gzip body's inflated bytes go. */
export interface InflatedSink {
  /** The next inflated bytes, in order; false: no more in this turn of the event loop (or ever, once failed). */
  inflated(chunk: Buffer): boolean;
  /** Everything is inflated. */
  end(): void;
  /** Not gzip, or cut short. */
  fail(): void;
}

export interface GzipBodyOptions {
  /** Runs a function in the next turn of the event loop (the worker's turn budget). */
  nextTurn: (fn: () => void) => void;
  /** Inflate on the event loop (the default where this Node allows it) or through a gunzip stream. */
  onLoop?: boolean;
  /** Sees each output buffer the event-loop inflater allocates: only this body's bytes are ever in it. */
  ownBuffer?: (buffer: Buffer) => void;
}

/**
 * A gzip body's wire bytes in, its inflated bytes out, in order. Inflated on
 * the event loop as the bytes arrive (SyncGunzip), a slice of at most
 * GUNZIP_CHUNK_SIZE at a time: when the sink has had enough for this turn,
 * the rest waits for the next one, so a large or hostile body holds the
 * event loop no longer than a plain one. The caller applies the size and
 * ratio limits to what comes out.
 */
export class GzipBody {
  private readonly sync: SyncGunzip | undefined;
  private readonly stream: Gunzip | undefined;
  private destroyed = false;
  /** Written bytes wait to be inflated in a later turn. */
  private waiting = false;
  /** The wire bytes are all in; finish once the waiting ones are inflated. */
  private ending = false;

  constructor(
    private readonly out: InflatedSink,
    private readonly options: GzipBodyOptions,
  ) {
    if (options.onLoop ?? syncGunzipAvailable()) this.sync = new SyncGunzip(GUNZIP_CHUNK_SIZE, options.ownBuffer);
    else this.stream = this.startStream();
  }

  /** Inflated on the event loop: no other thread reads the wire bytes or writes the output buffers. */
  get onLoop(): boolean {
    return this.sync !== undefined;
  }

  /** The next wire bytes; false when no more should come until `onceDrained`. */
  write(chunk: Buffer): boolean {
    if (this.stream) return this.stream.write(chunk);
    this.sync!.push(chunk);
    return this.inflate();
  }

  /** Calls `resume` once the bytes written so far are inflated. */
  onceDrained(resume: () => void): void {
    if (this.destroyed) return;
    if (this.stream) this.stream.once('drain', resume);
    else
      this.options.nextTurn(() => {
        if (this.inflate()) resume();
        else this.onceDrained(resume);
      });
  }

  /** The wire bytes are all in (a request can end while the last of them wait for their turn). */
  end(): void {
    if (this.stream) this.stream.end();
    else if (this.waiting) this.ending = true;
    else this.finish();
  }

  destroy(): void {
    this.destroyed = true;
    this.sync?.close();
    this.stream?.destroy();
  }

  /** The last of the inflated bytes, and the check that the gzip data is complete. */
  private finish(): void {
    try {
      this.sync!.finish((slice) => this.out.inflated(slice) || true);
    } catch {
      this.failed();
      return;
    }
    if (this.destroyed) return;
    this.sync!.close();
    this.out.end();
  }

  /** Inflates what was written, as far as the sink takes this turn; true once it is all out. */
  private inflate(): boolean {
    if (this.destroyed) return false;
    try {
      this.waiting = !this.sync!.inflate((slice) => this.out.inflated(slice));
    } catch {
      this.failed();
      return false;
    }
    if (!this.waiting && this.ending) this.finish();
    return !this.waiting;
  }

  /** Not gzip, or cut short: said once, and nothing more is inflated. */
  private failed(): void {
    if (this.destroyed) return;
    this.destroy();
    this.out.fail();
  }

  /** Where this Node's zlib cannot be driven on the event loop: the same, through the thread pool. */
  private startStream(): Gunzip {
    const stream = createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE });
    stream.on('data', (chunk: Buffer) => {
      if (this.out.inflated(chunk) || this.destroyed) return;
      stream.pause();
      this.options.nextTurn(() => stream.resume());
    });
    stream.on('end', () => this.out.end());
    stream.on('error', () => this.failed());
    return stream;
  }
}
