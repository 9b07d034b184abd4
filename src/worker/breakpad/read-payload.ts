import Busboy from '@fastify/busboy';
import type { IncomingMessage } from 'node:http';
import { Transform, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { classifyPart, PartCollector, PayloadBuilder, type Payload, type PayloadRules } from './payload-parts';
import { BodyRateFloor } from './body-rate';
import type { HeldBytes, MemoryBudget } from './memory-budget';
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

/** Runs each chunk through `check` (which throws a Rejection to stop) as it passes. */
function checkpoint(check: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        check(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb(null, chunk);
    },
  });
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
 * rules, and rejects multipart/mixed. @fastify/busboy (what multer builds on,
 * in its maintained fork) with `isPartAFile: () => true` hands every part over
 * as raw bytes, so the classification below is Antenna's own.
 */
export function readPayload(req: IncomingMessage, headers: SubmitHeaders, limits: PayloadLimits, held: HeldBytes): Promise<ReadResult> {
  return new Promise<ReadResult>((resolve, reject) => {
    let settled = false;
    const started = performance.now();

    let wireBytes = 0;
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        // busboy only knows multipart/form-data; multipart/mixed bodies share its syntax.
        headers: { 'content-type': `multipart/form-data; boundary="${headers.boundary}"` },
        limits: { parts: limits.maxParts, headerSize: limits.maxPartHeaderSize },
        isPartAFile: () => true,
      });
    } catch {
      // The header checks already refuse what busboy cannot take; this is a backstop.
      reject(malformed('invalid_payload_structure'));
      return;
    }
    // What enters the parser is what the parts end up holding: that is what
    // counts against the worker's memory budget (the wire bytes of a plain
    // body, the inflated ones of a gzip body).
    const hold = (bytes: number) => {
      if (!held.add(bytes)) throw limits.memoryBudget.refusal();
    };
    const gunzip = headers.compressed ? createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE }) : undefined;
    let inflatedBytes = 0;
    const inflated = gunzip
      ? checkpoint((chunk) => {
          inflatedBytes += chunk.length;
          if (inflatedTooLarge(inflatedBytes, wireBytes, limits)) throw tooLarge();
          hold(chunk.length);
        })
      : undefined;
    const builder = new PayloadBuilder({ maxJsonDepth: limits.maxJsonDepth, dumpField: limits.dumpField });

    const streams = [gunzip, inflated, parser].filter((s): s is NonNullable<typeof s> => s !== undefined);
    const head = streams[0]!;
    const timer = setTimeout(() => fail(bodyTimeout()), limits.bodyTimeoutMs);
    const rate = new BodyRateFloor(limits.minBodyRate, limits.minBodyRateWindowMs);
    const rateTimer = limits.minBodyRate > 0 ? setInterval(() => rate.tooSlow(performance.now()) && fail(bodyTimeout()), rate.windowMs / 4) : undefined;

    function stopTimers(): void {
      clearTimeout(timer);
      clearInterval(rateTimer);
    }

    function fail(err: unknown): void {
      if (settled) return;
      settled = true;
      stopTimers();
      req.off('data', onData).off('end', onEnd);
      for (const s of streams) s.destroy();
      reject(err);
    }

    parser.on('file', (name, stream, filename, _encoding, mimeType) => {
      stream.on('error', () => {}); // the parser reports the same error
      if (!name) {
        stream.resume(); // a part without a name is junk: drop it
        return;
      }
      let part: PartCollector;
      try {
        part = new PartCollector(name, classifyPart(mimeType, filename), mimeType, limits.maxAnnotationSize);
        builder.started(part);
      } catch (err) {
        fail(err);
        return;
      }
      stream.on('data', (chunk: Buffer) => {
        try {
          part.push(chunk);
        } catch (err) {
          fail(err);
        }
      });
      stream.on('end', () => {
        if (settled) return;
        try {
          builder.finished(part);
        } catch (err) {
          fail(err);
        }
      });
    });
    parser.on('partsLimit', () => fail(malformed('invalid_payload_structure')));
    parser.on('error', (err: unknown) => fail(err instanceof Rejection ? err : malformed('invalid_payload_structure')));
    parser.on('finish', () => {
      if (settled) return;
      try {
        const payload = builder.build();
        settled = true;
        stopTimers();
        resolve({
          ...payload,
          payloadSize: wireBytes,
          decompressMs: gunzip ? performance.now() - started : undefined,
        });
      } catch (err) {
        fail(err);
      }
    });

    gunzip?.on('error', (err: Error) => fail(err instanceof Rejection ? err : malformed('bad_gzip')));
    inflated?.on('error', fail);

    req.on('error', () => fail(new ClientAborted()));
    req.on('close', () => {
      if (!req.complete) fail(new ClientAborted());
    });
    // Not req.pipe(): each chunk is counted against the wire-size limit and
    // the idle timeout here, and the body also waits when this turn's budget
    // is spent.
    const resume = () => {
      if (!settled) req.resume();
    };
    function onData(chunk: Buffer): void {
      wireBytes += chunk.length;
      timer.refresh();
      rate.received(chunk.length, performance.now());
      if (wireBytes > limits.maxPayloadSize) {
        fail(tooLarge());
        return;
      }
      if (!gunzip) {
        try {
          hold(chunk.length);
        } catch (err) {
          fail(err);
          return;
        }
      }
      const flowing = head.write(chunk);
      const inBudget = limits.turnBudget.spend(chunk.length);
      if (flowing && inBudget) return;
      req.pause();
      if (!flowing) head.once('drain', resume);
      else limits.turnBudget.waitForNextTurn(resume);
    }
    function onEnd(): void {
      // The client has sent everything: how fast it did no longer matters.
      clearInterval(rateTimer);
      if (wireBytes === 0) fail(malformed('no_content_length'));
      else head.end();
    }
    req.on('data', onData).on('end', onEnd);

    let tail: Writable = head;
    for (const next of streams.slice(1)) {
      (tail as Transform).pipe(next);
      tail = next;
    }
  });
}
