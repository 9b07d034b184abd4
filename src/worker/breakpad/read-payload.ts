import type { IncomingMessage } from 'node:http';
import { createGunzip, gunzipSync, type Gunzip } from 'node:zlib';
import { classifyPart, PartCollector, PayloadBuilder, type Payload, type PayloadRules } from './payload-parts';
import { BodyRateFloor } from './body-rate';
import type { HeldBytes, MemoryBudget } from './memory-budget';
import { MultipartReader, type PartHead } from './multipart-reader';
import type { SubmitHeaders } from './request-headers';
import type { TurnBudget } from './turn-budget';
import { bodyTimeout, malformed, Rejection, tooLarge } from './rejection';

export interface PayloadLimits extends Partial<PayloadRules> {
  maxPayloadSize: number;
  maxDecompressedSize: number;
  /** Most inflated bytes per body byte received, once past GZIP_RATIO_FLOOR; 0 = no limit. */
  maxGzipRatio: number;
  maxParts: number;
  maxAnnotationSize: number;
  maxPartHeaderSize: number;
  bodyTimeoutMs: number;
  /** Bytes per second, averaged over each window after the first byte; 0 = no minimum. */
  minBodyRate: number;
  minBodyRateWindowMs: number;
  /** Shared by every upload of this worker. */
  turnBudget: TurnBudget;
  /** Shared by every upload of this worker: body bytes held in memory. */
  memoryBudget: MemoryBudget;
}

export interface ReadResult extends Payload {
  /** Body bytes received on the wire (compressed size for gzip bodies). */
  payloadSize: number;
  /** Milliseconds spent receiving and decompressing, for gzip bodies. */
  decompressMs?: number;
}

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

/** The client went away before its body was complete: there is nobody to answer. */
export class ClientAborted extends Error {
  constructor() {
    super('client closed the connection before the body was complete');
    this.name = 'ClientAborted';
  }
}

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

/**
 * Streams a crash report body through the wire-size limit, the idle and rate
 * timeouts, gunzip (with its own size and ratio limits), the worker's memory
 * budget (counted in `held`, which the caller releases) and the multipart
 * parser, collecting parts as they arrive. Never buffers more than the limits
 * allow and never destroys the request: on a Rejection the caller answers,
 * then discards the rest.
 *
 * multer cannot be used here: it reads from the request itself (not from a
 * gunzip stream), decodes text fields lossily so invalid UTF-8 cannot be
 * detected, classifies parts by filename rather than by Antenna's content-type
 * rules, and rejects multipart/mixed. The parser (multipart-reader.ts) hands
 * every part over as raw bytes, so the classification is Antenna's own.
 */
export function readPayload(req: IncomingMessage, headers: SubmitHeaders, limits: PayloadLimits, held: HeldBytes): Promise<ReadResult> {
  return new Promise<ReadResult>((resolve, reject) => {
    let read: PayloadRead;
    try {
      read = new PayloadRead(req, headers, limits, held, resolve, reject);
    } catch {
      // The header checks already refuse a boundary the parser cannot search for; this is a backstop.
      reject(malformed('invalid_payload_structure'));
      return;
    }
    read.start();
  });
}

/** One body being read: the state readPayload's callbacks share. */
class PayloadRead {
  private settled = false;
  private wireBytes = 0;
  private inflatedBytes = 0;
  private readonly started = performance.now();
  private readonly reader: MultipartReader<PartCollector>;
  private readonly builder: PayloadBuilder;
  private readonly compressed: boolean;
  /** A gzip body's wire bytes while it may still be inflated inline; undefined once it streams. */
  private gzipWire: Buffer[] | undefined;
  private gunzip: Gunzip | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly rate: BodyRateFloor;
  private readonly rateTimer: NodeJS.Timeout | undefined;
  private readonly resume = () => {
    if (!this.settled) this.req.resume();
  };
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => this.bodyEnded();

  constructor(
    private readonly req: IncomingMessage,
    headers: SubmitHeaders,
    private readonly limits: PayloadLimits,
    private readonly held: HeldBytes,
    private readonly resolve: (r: ReadResult) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.reader = new MultipartReader(
      headers.boundary,
      {
        part: (head) => this.partStarted(head),
        partEnd: (part) => this.builder.finished(part),
        partsLimit: () => this.fail(malformed('invalid_payload_structure')),
      },
      { maxParts: limits.maxParts, maxHeaderSize: limits.maxPartHeaderSize },
    );
    this.builder = new PayloadBuilder({ maxJsonDepth: limits.maxJsonDepth, dumpField: limits.dumpField });
    this.compressed = headers.compressed;
    this.gzipWire = headers.compressed ? [] : undefined;
    this.timer = setTimeout(() => this.fail(bodyTimeout()), limits.bodyTimeoutMs);
    this.rate = new BodyRateFloor(limits.minBodyRate, limits.minBodyRateWindowMs);
    this.rateTimer =
      limits.minBodyRate > 0 ? setInterval(() => this.rate.tooSlow(performance.now()) && this.fail(bodyTimeout()), this.rate.windowMs / 4) : undefined;
  }

  start(): void {
    const { req } = this;
    req.on('error', () => this.fail(new ClientAborted()));
    req.on('close', () => {
      if (!req.complete) this.fail(new ClientAborted());
    });
    // Not req.pipe(): each chunk is counted against the wire-size limit and
    // the idle timeout here, and the body also waits when this turn's budget
    // is spent.
    req.on('data', this.onData).on('end', this.onEnd);
  }

  /** A chunk of the body off the wire. */
  private received(chunk: Buffer): void {
    const { limits } = this;
    this.wireBytes += chunk.length;
    this.timer.refresh();
    this.rate.received(chunk.length, performance.now());
    if (this.wireBytes > limits.maxPayloadSize) {
      this.fail(tooLarge());
      return;
    }
    let flowing = true;
    if (this.gzipWire) {
      this.gzipWire.push(chunk);
      if (this.wireBytes > INLINE_GUNZIP_MAX_WIRE) flowing = this.streamGunzip();
    } else if (this.gunzip) flowing = this.gunzip.write(chunk);
    else if (!this.parse(chunk)) return;
    const inBudget = limits.turnBudget.spend(chunk.length);
    if (flowing && inBudget) return;
    this.req.pause();
    if (!flowing) this.gunzip!.once('drain', this.resume);
    else limits.turnBudget.waitForNextTurn(this.resume);
  }

  /** Inflates the rest of a gzip body as a stream, starting with the bytes kept so far. False when it wants no more for now. */
  private streamGunzip(): boolean {
    const kept = this.gzipWire ?? [];
    this.gzipWire = undefined;
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE });
    this.gunzip = gunzip;
    gunzip.on('data', (chunk: Buffer) => this.inflated(chunk));
    gunzip.on('end', () => this.finish());
    gunzip.on('error', (err: Error) => this.fail(err instanceof Rejection ? err : malformed('bad_gzip')));
    let flowing = true;
    for (const chunk of kept) flowing = gunzip.write(chunk);
    return flowing;
  }

  /** A whole small gzip body: inflated here, or handed to the stream when it inflates past INLINE_GUNZIP_MAX_OUTPUT. */
  private inflateInline(): void {
    const wire = this.gzipWire!;
    let body: Buffer;
    try {
      body = gunzipSync(wire.length === 1 ? wire[0]! : Buffer.concat(wire), {
        chunkSize: GUNZIP_CHUNK_SIZE,
        maxOutputLength: Math.min(INLINE_GUNZIP_MAX_OUTPUT, this.limits.maxDecompressedSize + 1),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') {
        this.fail(malformed('bad_gzip'));
        return;
      }
      // More than an inline inflate should take: the stream applies the limits as it goes.
      this.streamGunzip();
      this.gunzip!.end();
      return;
    }
    this.gzipWire = undefined;
    this.inflated(body);
    this.finish();
  }

  /** A chunk of a gzip body, inflated. */
  private inflated(chunk: Buffer): void {
    this.inflatedBytes += chunk.length;
    if (inflatedTooLarge(this.inflatedBytes, this.wireBytes, this.limits)) this.fail(tooLarge());
    else this.parse(chunk);
  }

  /**
   * Multipart bytes, counted against the memory budget (what enters the
   * parser is what the parts end up holding: the wire bytes of a plain body,
   * the inflated ones of a gzip body), then parsed. False once failed.
   */
  private parse(chunk: Buffer): boolean {
    if (this.settled) return false;
    try {
      if (!this.held.add(chunk.length)) throw this.limits.memoryBudget.refusal();
      this.reader.write(chunk);
    } catch (err) {
      this.fail(err instanceof Rejection ? err : malformed('invalid_payload_structure'));
    }
    return !this.settled;
  }

  /** A part's header is complete: where its bytes go (a throw refuses the body). */
  private partStarted(head: PartHead): PartCollector | undefined {
    if (!head.name) return undefined; // a part without a name is junk: drop it
    const part = new PartCollector(head.name, classifyPart(head.mimeType, head.filename), head.mimeType, this.limits.maxAnnotationSize);
    this.builder.started(part);
    return part;
  }

  private bodyEnded(): void {
    // The client has sent everything: how fast it did no longer matters.
    clearInterval(this.rateTimer);
    if (this.wireBytes === 0) this.fail(malformed('no_content_length'));
    else if (this.gzipWire) this.inflateInline();
    else if (this.gunzip) this.gunzip.end();
    else this.finish();
  }

  /** The whole multipart body has been parsed. */
  private finish(): void {
    if (this.settled) return;
    let payload: Payload;
    try {
      this.reader.end();
    } catch {
      this.fail(malformed('invalid_payload_structure'));
      return;
    }
    try {
      payload = this.builder.build();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.settle();
    this.resolve({ ...payload, payloadSize: this.wireBytes, decompressMs: this.compressed ? performance.now() - this.started : undefined });
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reader.stop();
    this.req.off('data', this.onData).off('end', this.onEnd);
    this.gunzip?.destroy();
    this.reject(err);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
    clearInterval(this.rateTimer);
  }
}
