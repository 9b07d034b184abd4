import HeaderParser from '@fastify/busboy/deps/dicer/lib/HeaderParser';
import StreamSearch from '@fastify/busboy/deps/streamsearch/sbmh';
import basename from '@fastify/busboy/lib/utils/basename';
import parseParams from '@fastify/busboy/lib/utils/parseParams';

/** What a part's header says, as @fastify/busboy's multipart type reads it. */
export interface PartHead {
  /** The `name` parameter; undefined when absent. */
  name: string | undefined;
  /** The `filename` parameter, path stripped; undefined when absent. */
  filename: string | undefined;
  /** The part's media type, lower-cased, without parameters; `text/plain` when absent. */
  mimeType: string;
}

/** Where the bytes of one part go. */
export interface PartSink {
  push(chunk: Buffer): void;
}

/** Called synchronously from `write`; a throw stops the reader and leaves `write` with it. */
export interface MultipartHandlers<S extends PartSink> {
  /** A part's header block is complete: the sink for its bytes, or undefined to drop them. */
  part(head: PartHead): S | undefined;
  /** The part `sink` took has ended. */
  partEnd(sink: S): void;
  /** More parts than `maxParts`. */
  partsLimit(): void;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

const DASH = 45;
const ONE_DASH = Buffer.from('-');
const CRLF = Buffer.from('\r\n');
const MAX_HEADER_PAIRS = 2000;

/**
 * A multipart body parser with callbacks instead of streams: @fastify/busboy's
 * own boundary search (StreamSearch, on Buffer.indexOf) and part-header parser
 * (HeaderParser: folded lines, oversized blocks cut at `maxHeaderSize`, the
 * rest dropped) driven by a port of its Dicer state machine and of its
 * multipart type's header reading, so bodies parse exactly as before — the
 * preamble and epilogue ignored, a part without `form-data` disposition
 * skipped, parts counted as busboy counts them — without the two Readable
 * streams, their events and their ticks that busboy creates for every part.
 *
 * A header block whole in one write and plain (most are) is read from the
 * bytes without HeaderParser (`readPlainHeaderBlock`).
 *
 * Bytes from `write` reach the sinks synchronously and are not copied: each
 * chunk a sink gets is a view of the written buffer, or a copy when it spans
 * two writes.
 */
export class MultipartReader<S extends PartSink = PartSink> {
  private readonly search: StreamSearch;
  private readonly headers: HeaderParser;
  private firstWrite = true;
  private isPreamble = true;
  private justMatched = false;
  private dashes = 0;
  private inPart = false;
  private inHeader = true;
  /** Whether HeaderParser holds bytes of the current part's header block. */
  private headerBuffered = false;
  private sink: S | undefined;
  private parts = 0;
  private done = false;
  private stopped = false;

  constructor(
    boundary: string,
    private readonly handlers: MultipartHandlers<S>,
    private readonly limits: { maxParts: number; maxHeaderSize: number },
  ) {
    this.search = new StreamSearch(`\r\n--${boundary}`);
    this.search.on('info', (isMatch: boolean, data?: Buffer, start?: number, end?: number) => this.onInfo(isMatch, data, start ?? 0, end ?? 0));
    this.headers = new HeaderParser({ maxHeaderPairs: MAX_HEADER_PAIRS, maxHeaderSize: limits.maxHeaderSize });
    this.headers.on('header', (header: Record<string, string[]>) => this.onHeader(header));
  }

  /** Whether the closing boundary has been seen (anything after it is ignored). */
  get finished(): boolean {
    return this.done;
  }

  write(chunk: Buffer): void {
    if (this.done || this.stopped) return;
    if (this.firstWrite) {
      // The first boundary needs no CRLF before it.
      this.firstWrite = false;
      this.search.push(CRLF);
    }
    this.search.push(chunk);
  }

  /** The body is complete: throws a MultipartError unless the closing boundary was seen. */
  end(): void {
    if (!this.done) throw new MultipartError('Unexpected end of multipart data');
  }

  /** Stops feeding sinks (after a failure). */
  stop(): void {
    this.stopped = true;
  }

  private onInfo(isMatch: boolean, data: Buffer | undefined, start: number, end: number): void {
    if (this.done || this.stopped) return;
    let dash: Buffer | undefined;
    if (!this.inPart && this.justMatched && data) {
      let i = 0;
      while (this.dashes < 2 && start + i < end) {
        if (data[start + i] === DASH) {
          ++i;
          ++this.dashes;
        } else {
          if (this.dashes) dash = ONE_DASH;
          this.dashes = 0;
          break;
        }
      }
      if (this.dashes === 2) this.done = true;
      if (this.dashes) return;
    }
    this.justMatched = false;
    if (!this.inPart) this.openPart();
    if (this.stopped) return;
    if (data && start < end && !this.isPreamble) {
      if (!this.inHeader) {
        if (dash) this.sink?.push(dash);
        this.sink?.push(slice(data, start, end, this.search));
      } else {
        const plain = dash || this.headerBuffered ? undefined : readPlainHeaderBlock(data, start, end, this.limits.maxHeaderSize);
        let used: number | undefined;
        if (plain) {
          used = plain.used;
          this.onHeader(plain.header);
        } else {
          this.headerBuffered = true;
          if (dash) this.headers.push(dash);
          used = this.headers.push(data.subarray(start, end));
        }
        if (!this.inHeader && used !== undefined && start + used < end) this.onInfo(false, data, start + used, end);
      }
    }
    if (isMatch) this.closePart();
  }

  private openPart(): void {
    this.inPart = true;
    this.sink = undefined;
    if (this.isPreamble) return;
    this.inHeader = true;
    if (++this.parts > this.limits.maxParts) {
      this.stopped = true;
      this.handlers.partsLimit();
    }
  }

  private closePart(): void {
    this.headers.reset();
    this.headerBuffered = false;
    if (this.isPreamble) this.isPreamble = false;
    else if (!this.inHeader && this.sink) this.handlers.partEnd(this.sink);
    this.sink = undefined;
    this.inPart = false;
    this.justMatched = true;
    this.dashes = 0;
  }

  private onHeader(header: Record<string, string[]>): void {
    this.inHeader = false;
    const head = readPartHead(header);
    this.sink = head && this.handlers.part(head);
  }
}

/**
 * Bytes the search emits from its own look-behind buffer are overwritten by
 * the next chunk: those are copied, anything else is a view.
 */
function slice(data: Buffer, start: number, end: number, search: StreamSearch): Buffer {
  const view = data.subarray(start, end);
  return data === (search as unknown as { _lookbehind: Buffer })._lookbehind ? Buffer.from(view) : view;
}

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;
const END_OF_HEADERS = Buffer.from('\r\n\r\n');
const CONTENT_TYPE = Buffer.from('content-type');
const CONTENT_DISPOSITION = Buffer.from('content-disposition');

/** Whether `data[start, end)` is `lower` (lower-case letters and dashes) in any case. */
function isNamed(data: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    // Folds ASCII case. The only other byte this maps onto a letter or a dash, CR, never gets here.
    if ((data[start + i]! | 0x20) !== lower[i]) return false;
  }
  return true;
}

/**
 * A part's header block read straight from the bytes when it is whole in
 * `data[start, end)` and plain: shorter than `maxHeaderSize`, no folded line,
 * no bare CR or LF, a name and a colon on every line. Then `header` holds
 * what `readPartHead` reads of it (the first Content-Type and
 * Content-Disposition), exactly as from HeaderParser, and `used` counts the
 * bytes up to and including the blank line. Anything else is HeaderParser's
 * to read (undefined). HeaderParser copies each block into a string, splits
 * it into lines and names, and emits an event; this reads the bytes where they
 * are and makes a string of the two values only. The reader alone over the
 * bench's bodies (26 parts), 20 rounds alternated: 4 KB 59 → 46 µs at best,
 * 97 → 76 median; 400 KB 96 → 72, 124 → 101.
 */
export function readPlainHeaderBlock(
  data: Buffer,
  start: number,
  end: number,
  maxHeaderSize: number,
): { header: Record<string, string[]>; used: number } | undefined {
  const blockEnd = data.indexOf(END_OF_HEADERS, start);
  if (blockEnd === -1 || blockEnd + 4 > end || blockEnd - start >= maxHeaderSize) return undefined;
  const header: Record<string, string[]> = {};
  let pairs = 0;
  let lineStart = start;
  while (lineStart < blockEnd) {
    let colon = -1;
    let lineEnd = lineStart;
    for (; lineEnd < blockEnd; lineEnd++) {
      const c = data[lineEnd];
      if (c === CR) {
        if (data[lineEnd + 1] !== LF) return undefined;
        break;
      }
      if (c === LF) return undefined;
      if (c === COLON && colon === -1) colon = lineEnd;
    }
    if (lineEnd !== lineStart) {
      const first = data[lineStart];
      if (first === SP || first === HT || colon <= lineStart || ++pairs === MAX_HEADER_PAIRS) return undefined;
      const key = isNamed(data, lineStart, colon, CONTENT_DISPOSITION)
        ? 'content-disposition'
        : isNamed(data, lineStart, colon, CONTENT_TYPE)
          ? 'content-type'
          : undefined;
      if (key !== undefined && header[key] === undefined) {
        let valueStart = colon + 1;
        if (data[valueStart] === SP || data[valueStart] === HT) valueStart++;
        header[key] = [data.toString('latin1', valueStart, lineEnd)];
      }
    }
    lineStart = lineEnd + 2;
  }
  return { header, used: blockEnd + 4 - start };
}

const HAS_PARAMS_OR_SPACE = /[; \t]/;

/** The header reading of @fastify/busboy's multipart type; undefined for a part it skips. */
export function readPartHead(header: Record<string, string[]>): PartHead | undefined {
  let mimeType: string | undefined;
  const contentType = header['content-type']?.[0];
  if (contentType !== undefined) {
    if (contentType.length !== 0 && !HAS_PARAMS_OR_SPACE.test(contentType)) mimeType = contentType.toLowerCase();
    else {
      const first = parseParams(contentType)[0];
      if (first) mimeType = (first as string).toLowerCase();
    }
  }
  const disposition = header['content-disposition']?.[0];
  if (disposition === undefined) return undefined;
  const params = parseParams(disposition);
  if (!/^form-data$/i.test(params[0] as string)) return undefined;
  let name: string | undefined;
  let filename: string | undefined;
  for (let i = 1; i < params.length; i++) {
    // As busboy indexes it: a parameter without `=` is a string, and [0], [1] are its first characters.
    const param = params[i]!;
    const key = param[0]!;
    const value = param[1]!;
    if (/^name$/i.test(key)) {
      if (hasBareLineBreak(value)) return undefined;
      name = value;
    } else if (/^filename$/i.test(key)) {
      if (hasBareLineBreak(value)) return undefined;
      filename = basename(value);
    }
  }
  return { name, filename, mimeType: mimeType ?? 'text/plain' };
}

function hasBareLineBreak(value: string): boolean {
  return typeof value === 'string' && (value.includes('\r') || value.includes('\n'));
}
