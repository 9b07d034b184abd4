import Busboy from '@fastify/busboy';
import type { IncomingMessage } from 'node:http';
import { Transform, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { classifyPart, PartCollector, PayloadBuilder, type Payload, type PayloadRules } from './payload-parts';
import type { SubmitHeaders } from './request-headers';
import type { TurnBudget } from './turn-budget';
import { bodyTimeout, malformed, Rejection, tooLarge } from './rejection';

export interface PayloadLimits extends Partial<PayloadRules> {
  maxPayloadSize: number;
  maxDecompressedSize: number;
  maxParts: number;
  maxAnnotationSize: number;
  maxPartHeaderSize: number;
  bodyTimeoutMs: number;
  /** Shared by every upload of this worker. */
  turnBudget: TurnBudget;
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

/** Counts bytes as they pass and fails with 413 past `max`. */
function byteCounter(max: number): Transform & { count: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      counter.count += chunk.length;
      if (counter.count > max) cb(tooLarge());
      else cb(null, chunk);
    },
  }) as Transform & { count: number };
  counter.count = 0;
  return counter;
}

/**
 * Streams a crash report body through the wire-size limit, the idle timeout,
 * gunzip (with its own size limit) and the multipart parser, collecting parts
 * as they arrive. Never buffers more than the limits allow and never destroys
 * the request: on a Rejection the caller answers, then discards the rest.
 *
 * multer cannot be used here: it reads from the request itself (not from a
 * gunzip stream), decodes text fields lossily so invalid UTF-8 cannot be
 * detected, classifies parts by filename rather than by Antenna's content-type
 * rules, and rejects multipart/mixed. @fastify/busboy (what multer builds on,
 * in its maintained fork) with `isPartAFile: () => true` hands every part over
 * as raw bytes, so the classification below is Antenna's own.
 */
export function readPayload(req: IncomingMessage, headers: SubmitHeaders, limits: PayloadLimits): Promise<ReadResult> {
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
    const gunzip = headers.compressed ? createGunzip({ chunkSize: GUNZIP_CHUNK_SIZE }) : undefined;
    const inflated = gunzip ? byteCounter(limits.maxDecompressedSize) : undefined;
    const builder = new PayloadBuilder({ maxJsonDepth: limits.maxJsonDepth, dumpField: limits.dumpField });

    const streams = [gunzip, inflated, parser].filter((s): s is NonNullable<typeof s> => s !== undefined);
    const head = streams[0]!;
    const timer = setTimeout(() => fail(bodyTimeout()), limits.bodyTimeoutMs);

    function fail(err: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
        clearTimeout(timer);
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
      if (wireBytes > limits.maxPayloadSize) {
        fail(tooLarge());
        return;
      }
      const flowing = head.write(chunk);
      const inBudget = limits.turnBudget.spend(chunk.length);
      if (flowing && inBudget) return;
      req.pause();
      if (!flowing) head.once('drain', resume);
      else limits.turnBudget.waitForNextTurn(resume);
    }
    function onEnd(): void {
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
