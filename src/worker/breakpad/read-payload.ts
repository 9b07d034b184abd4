import type { IncomingMessage } from 'node:http';
import { classifyPart, PartCollector, PayloadBuilder, type Payload, type PayloadRules } from './payload-parts';
import { BodyRateFloor } from './body-rate';
import type { HeldBytes, MemoryBudget } from './memory-budget';
import { MultipartReader, type PartHead } from './multipart-reader';
import type { SubmitHeaders } from './request-headers';
import type { TurnBudget } from './turn-budget';
import { bodyTimeout, malformed, Rejection, tooLarge } from './rejection';
import { GzipBody, inflatedTooLarge } from './gzip-body';

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

/** The client went away before its body was complete: there is nobody to answer. */
export class ClientAborted extends Error {
  constructor() {
    super('client closed the connection before the body was complete');
    this.name = 'ClientAborted';
  }
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
  private readonly gzip: GzipBody | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly rate: BodyRateFloor;
  private readonly rateTimer: NodeJS.Timeout | undefined;
  /** Its place in the line of uploads waiting for a turn: the one that started first goes on first. */
  private readonly place: number;
  /**
   * Since when this worker has held the body back for the turn budget
   * (undefined: it has not): the time in line, behind the worker's older
   * uploads, is not the client's idle time and does not count against its rate.
   */
  private inLineSince: number | undefined;
  private readonly resume = () => {
    const now = performance.now();
    const waited = now - (this.inLineSince ?? now);
    this.inLineSince = undefined;
    if (this.settled) return;
    this.timer.refresh();
    this.rate.excuse(waited);
    this.req.resume();
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
    this.place = limits.turnBudget.enter();
    this.builder = new PayloadBuilder({ maxJsonDepth: limits.maxJsonDepth, dumpField: limits.dumpField });
    this.gzip = headers.compressed
      ? new GzipBody(
          {
            inflated: (chunk) => this.inflated(chunk),
            end: () => this.finish(),
            fail: () => this.fail(malformed('bad_gzip')),
          },
          { nextTurn: (fn) => limits.turnBudget.waitForNextTurn(fn, this.place), ownBuffer: (b) => held.buffers.own(b) },
        )
      : undefined;
    this.timer = setTimeout(() => (this.inLineSince !== undefined ? this.timer.refresh() : this.fail(bodyTimeout())), limits.bodyTimeoutMs);
    this.rate = new BodyRateFloor(limits.minBodyRate, limits.minBodyRateWindowMs);
    this.rateTimer =
      limits.minBodyRate > 0
        ? setInterval(() => this.inLineSince === undefined && this.rate.tooSlow(performance.now()) && this.fail(bodyTimeout()), this.rate.windowMs / 4)
        : undefined;
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
    if (this.gzip) {
      // Inflated on the event loop, a chunk is done with once the request is.
      if (this.gzip.onLoop) this.held.buffers.track(chunk);
      // The turn budget counts what the gzip body inflates to (inflated()).
      if (this.gzip.write(chunk)) return;
      this.waitInLine();
      this.gzip.onceDrained(this.resume);
      return;
    }
    if (!this.parse(chunk)) return;
    this.held.buffers.track(chunk);
    if (limits.turnBudget.spend(chunk.length)) return;
    this.waitInLine();
    limits.turnBudget.waitForNextTurn(this.resume, this.place);
  }

  private waitInLine(): void {
    this.req.pause();
    this.inLineSince = performance.now();
  }

  /** A chunk of a gzip body, inflated; false once this turn's budget is spent (or the body failed). */
  private inflated(chunk: Buffer): boolean {
    this.inflatedBytes += chunk.length;
    if (inflatedTooLarge(this.inflatedBytes, this.wireBytes, this.limits)) {
      this.fail(tooLarge());
      return false;
    }
    return this.parse(chunk) && this.limits.turnBudget.spend(chunk.length);
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
    // The client has sent everything: how fast it did, or how long it idles now, no longer matters
    // (a gzip body's last bytes may still wait in line for their turn to inflate).
    clearTimeout(this.timer);
    clearInterval(this.rateTimer);
    if (this.wireBytes === 0) this.fail(malformed('no_content_length'));
    else if (this.gzip) this.gzip.end();
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
    this.resolve({ ...payload, payloadSize: this.wireBytes, decompressMs: this.gzip ? performance.now() - this.started : undefined });
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settle();
    this.reader.stop();
    this.req.off('data', this.onData).off('end', this.onEnd);
    this.gzip?.destroy();
    this.reject(err);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
    clearInterval(this.rateTimer);
  }
}
