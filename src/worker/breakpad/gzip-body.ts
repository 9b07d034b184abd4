import { createGunzip, gunzipSync, type Gunzip } from 'node:zlib';
import type { PayloadLimits } from './read-payload';

/**
 * Output buffer of the gunzip stream. zlib's default (16 KiB) makes a 4 MB
 * dump 256 trips to the thread pool and back, each with its stream events;
 * 64 KiB cut the CPU of inflating it by a third (docs/performance.md).
 */
const GUNZIP_CHUNK_SIZE = 64 * 1024;

/**
 * A gzip body at most this large on the wire is kept until it is complete and
 * inflated in one synchronous call, when that gives at most
 * INLINE_GUNZIP_MAX_OUTPUT bytes. The stream costs two thread-pool trips and
 * their stream events per output chunk, which for a small body is most of its
 * price (measured: a 4 KB crash gzipped cost 0.27–0.42 CPU ms per crash, 0.23–0.25
 * inline, against 0.20–0.35 plain; inflating it alone 0.013). At 400 KB
 * (154 KB on the wire) inline bought no CPU and held the whole body and its
 * output at once (peak RSS 619 MB against 536 streamed), so larger bodies,
 * and any that inflates to more, take the stream, with every limit applied
 * as it inflates.
 */
export const INLINE_GUNZIP_MAX_WIRE = 64 * 1024;

/** Most bytes an inline inflate produces before it gives up for the stream: about 1 ms of the event loop. */
export const INLINE_GUNZIP_MAX_OUTPUT = 1024 * 1024;

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
  /** The next inflated bytes, in order. */
  inflated(chunk: Buffer): void;
  /** Everything is inflated. */
  end(): void;
  /** Not gzip, or cut short. */
  fail(): void;
}

/**
 * A gzip body's wire bytes in, its inflated bytes out: kept and inflated at
 * once when it is small (INLINE_GUNZIP_MAX_WIRE), else through a gunzip
 * stream. The caller applies the size and ratio limits to what comes out.
 */
export class GzipBody {
  /** The wire bytes while the body may still be inflated inline; undefined once it streams. */
  private kept: Buffer[] | undefined = [];
  private keptBytes = 0;
  private stream: Gunzip | undefined;

  constructor(
    private readonly maxDecompressedSize: number,
    private readonly out: InflatedSink,
  ) {}

  /** The next wire bytes; false when the stream wants no more until `onceDrained`. */
  write(chunk: Buffer): boolean {
    if (!this.kept) return this.stream!.write(chunk);
    this.kept.push(chunk);
    this.keptBytes += chunk.length;
    return this.keptBytes > INLINE_GUNZIP_MAX_WIRE ? this.startStream() : true;
  }

  onceDrained(resume: () => void): void {
    this.stream!.once('drain', resume);
  }

  /** The wire bytes are all in. */
  end(): void {
    if (this.kept) this.inflateInline();
    else this.stream!.end();
  }

  destroy(): void {
    this.kept = undefined;
    this.stream?.destroy();
  }

  /** Inflates the rest as a stream, starting with the bytes kept so far. False when it wants no more for now. */
  private startStream(): boolean {
    const kept = this.kept ?? [];
    this.kept = undefined;
    const stream = createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE });
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => this.out.inflated(chunk));
    stream.on('end', () => this.out.end());
    stream.on('error', () => this.out.fail());
    let flowing = true;
    for (const chunk of kept) flowing = stream.write(chunk);
    return flowing;
  }

  /** The whole small body: inflated here, or handed to the stream when it inflates past INLINE_GUNZIP_MAX_OUTPUT. */
  private inflateInline(): void {
    const wire = this.kept!;
    let body: Buffer;
    try {
      body = gunzipSync(wire.length === 1 ? wire[0]! : Buffer.concat(wire), {
        chunkSize: GUNZIP_CHUNK_SIZE,
        maxOutputLength: Math.min(INLINE_GUNZIP_MAX_OUTPUT, this.maxDecompressedSize + 1),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') {
        this.kept = undefined;
        this.out.fail();
        return;
      }
      // More than an inline inflate should take: the stream applies the limits as it goes.
      this.startStream();
      this.stream!.end();
      return;
    }
    this.kept = undefined;
    this.out.inflated(body);
    this.out.end();
  }
}
