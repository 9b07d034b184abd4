import { types } from 'node:util';
import { constants, createGunzip, gzipSync, type Gunzip } from 'node:zlib';

/**
 * The pieces of a node:zlib stream that its own synchronous API drives
 * (`processChunkSync` in lib/zlib.js, behind `gunzipSync`): a write into a
 * caller's output buffer, and the two counts it leaves behind. They are the
 * same from Node 10 to 26 (measured here on 20, 22, 24 and 26); the self-test
 * below decides whether this Node has them.
 */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, out: Buffer, outOffset: number, outLength: number): void;
}
interface ZlibInternals {
  _handle: ZlibHandle | null;
  /** After a write: [output bytes left unused, input bytes left unread]. */
  _writeState: Uint32Array;
}

/** The bytes are not gzip, or the gzip data stopped short. */
export class BadGzip extends Error {
  readonly kind = 'bad_gzip';
  constructor() {
    super('gzip body could not be inflated');
    this.name = 'BadGzip';
  }
}

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Inflates a gzip body on the calling thread, one output buffer at a time, as
 * its bytes arrive: what a gunzip stream does without its two thread-pool
 * trips and stream events per output buffer. Measured alone on the bench's
 * 400 KB crash (151 KB gzipped): 0.45 CPU ms against 0.92–0.98 through a
 * stream, and at 4 MB 4.5 against 8.4 (`gunzipSync` of the whole body: 0.55
 * and 4.7). A pure-JS inflater costs three times as much (fflate: 1.5 and 14
 * ms), so this drives node:zlib's own handle. Multi-member bodies and
 * trailing zero padding are handled as node:zlib's gunzip handles them.
 */
export class SyncGunzip {
  private readonly stream: Gunzip & ZlibInternals;
  private out: Buffer;
  private outOffset = 0;
  private input = EMPTY;
  private inOffset = 0;
  /** The last write filled the output buffer: zlib may hold more output for the input it has read. */
  private outputPending = false;
  /** The gzip data ended before the input did: the rest (zero padding) is not inflated. */
  private ended = false;

  constructor(
    private readonly outSize: number,
    /** Sees every output buffer as it is allocated. */
    private readonly onBuffer: (buffer: Buffer) => void = () => {},
  ) {
    // The stream's own output buffer goes unused: the smallest zlib allows.
    this.stream = createGunzip({ chunkSize: constants.Z_MIN_CHUNK }) as Gunzip & ZlibInternals;
    // zlib reports bad data by destroying the stream, which emits 'error' a
    // tick later; `destroyed` tells it at once, and this listener keeps the
    // late event from being unhandled.
    this.stream.on('error', () => {});
    this.out = this.allocate();
  }

  /** The next input bytes; `inflate` then takes them. Only once the previous ones are used up. */
  push(input: Buffer): void {
    this.input = input;
    this.inOffset = 0;
  }

  /**
   * Inflates the pushed bytes, handing each slice of output (at most the
   * output buffer's size) to `emit` until they are used up (true) or `emit`
   * returns false (false: call again for the rest). Throws BadGzip.
   */
  inflate(emit: (slice: Buffer) => boolean): boolean {
    while (this.outputPending || (!this.ended && this.inOffset < this.input.length)) {
      if (!this.write(constants.Z_NO_FLUSH, emit)) return false;
    }
    return true;
  }

  /** No more input: the last of the output, or BadGzip when the gzip data stopped short. */
  finish(emit: (slice: Buffer) => boolean): void {
    this.input = EMPTY;
    this.inOffset = 0;
    do this.write(constants.Z_FINISH, emit);
    while (this.outputPending);
  }

  close(): void {
    this.stream.destroy();
  }

  private allocate(): Buffer {
    const buffer = Buffer.allocUnsafe(this.outSize);
    this.onBuffer(buffer);
    return buffer;
  }

  /** One zlib write into the output buffer: emits what came out and says what `emit` returned. */
  private write(flush: number, emit: (slice: Buffer) => boolean): boolean {
    const { stream } = this;
    // After close() or a data error the handle is gone, and writing to it would abort the process.
    if (stream.destroyed || !stream._handle) throw new BadGzip();
    // A new output buffer only when one is needed: the last write of a body that filled one leaves no spare.
    if (this.outOffset === this.out.length) {
      this.out = this.allocate();
      this.outOffset = 0;
    }
    const inLength = this.ended ? 0 : this.input.length - this.inOffset;
    const outLength = this.out.length - this.outOffset;
    stream._handle.writeSync(flush, this.input, this.inOffset, inLength, this.out, this.outOffset, outLength);
    if (stream.destroyed) throw new BadGzip();
    const [availOut, availIn] = stream._writeState as unknown as [number, number];
    this.inOffset += inLength - availIn;
    this.outputPending = availOut === 0;
    if (availOut !== 0 && availIn > 0) this.ended = true;
    const have = outLength - availOut;
    const slice = this.out.subarray(this.outOffset, this.outOffset + have);
    this.outOffset += have;
    return have === 0 || emit(slice);
  }
}

let available: boolean | undefined;

/**
 * Whether this Node's zlib can be driven this way: checked once, by inflating
 * a known body in three pieces. When it cannot, gzip bodies go through a
 * gunzip stream (slower, the same answers).
 */
export function syncGunzipAvailable(): boolean {
  if (available === undefined) available = selfTest();
  return available;
}

/** Whether a gunzip stream has the internals SyncGunzip drives, in their known shape. */
export function hasZlibInternals(stream: object): boolean {
  const probe = stream as Partial<ZlibInternals>;
  return typeof probe._handle?.writeSync === 'function' && types.isUint32Array(probe._writeState) && probe._writeState.length === 2;
}

function selfTest(): boolean {
  const expected = Buffer.from('antenna '.repeat(64));
  const wire = gzipSync(expected);
  const got: Buffer[] = [];
  let engine: SyncGunzip | undefined;
  try {
    const probe = createGunzip();
    const usable = hasZlibInternals(probe);
    probe.destroy();
    if (!usable) return false;
    engine = new SyncGunzip(64);
    const emit = (slice: Buffer) => got.push(Buffer.from(slice)) > 0;
    for (const piece of [wire.subarray(0, 7), wire.subarray(7, 20), wire.subarray(20)]) {
      engine.push(piece);
      engine.inflate(emit);
    }
    engine.finish(emit);
    return Buffer.concat(got).equals(expected);
  } catch {
    return false;
  } finally {
    engine?.close();
  }
}
