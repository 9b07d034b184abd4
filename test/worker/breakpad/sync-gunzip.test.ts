import { randomBytes } from 'node:crypto';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { BadGzip, hasZlibInternals, SyncGunzip, syncGunzipAvailable } from '../../../src/worker/breakpad/sync-gunzip';

interface Inflated {
  out: Buffer;
  slices: number[];
  /** Times `inflate` returned false because `emit` asked it to stop. */
  pauses: number;
}

/** Inflates `wire` handed over in pieces of `piece` bytes; `emit` refuses every `pauseEvery`th slice (0: never). */
function inflateAll(wire: Buffer, piece: number, outSize = 1024, pauseEvery = 0): Inflated {
  const engine = new SyncGunzip(outSize);
  const got: Buffer[] = [];
  let pauses = 0;
  const emit = (slice: Buffer) => {
    got.push(Buffer.from(slice));
    return pauseEvery === 0 || got.length % pauseEvery !== 0;
  };
  try {
    for (let at = 0; at < wire.length; at += piece) {
      engine.push(wire.subarray(at, at + piece));
      while (!engine.inflate(emit)) pauses++;
    }
    engine.finish(emit);
  } finally {
    engine.close();
  }
  return { out: Buffer.concat(got), slices: got.map((b) => b.length), pauses };
}

/** Bytes that compress somewhat, as a minidump does: random runs between runs of zeros. */
function dumpLike(size: number): Buffer {
  const parts: Buffer[] = [];
  for (let n = 0; n < size; n += 3000) parts.push(randomBytes(1000), Buffer.alloc(2000));
  return Buffer.concat(parts).subarray(0, size);
}

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('SyncGunzip', () => {
  it("can drive this Node's zlib (else gzip bodies take the slower stream through the thread pool)", () => {
    expect(syncGunzipAvailable()).toBe(true);
    const real = createGunzip();
    expect(hasZlibInternals(real)).toBe(true);
    real.destroy();
    // A Node whose zlib stream is built otherwise is recognised as such, and its gzip bodies take the stream.
    expect(hasZlibInternals({ _handle: {}, _writeState: new Uint32Array(2) })).toBe(false);
    expect(hasZlibInternals({ _handle: { writeSync() {} }, _writeState: [0, 0] })).toBe(false);
    expect(hasZlibInternals({ _handle: null })).toBe(false);
  });

  it('inflates what gunzipSync inflates, whatever the pieces the bytes come in, in slices no larger than its buffer', () => {
    const plain = dumpLike(200_000);
    const wire = gzipSync(plain);
    for (const piece of [1, 13, 4096, wire.length]) {
      const r = inflateAll(wire, piece, 1024);
      expect(r.out.equals(plain)).toBe(true);
      expect(Math.max(...r.slices)).toBeLessThanOrEqual(1024);
      expect(r.pauses).toBe(0);
    }
  });

  it('stops when the receiver has had enough, and goes on from there when asked', () => {
    const plain = dumpLike(100_000);
    const wire = gzipSync(plain);
    for (const piece of [wire.length, 5000]) {
      const r = inflateAll(wire, piece, 1024, 3);
      expect(r.out.equals(plain)).toBe(true);
      // One slice in three was refused: inflate returned for each of them.
      expect(r.pauses).toBeGreaterThanOrEqual(Math.floor(r.slices.length / 3) - 1);
    }
  });

  it('stops a bomb after the slice its receiver refuses, not after inflating the body', () => {
    const wire = gzipSync(Buffer.alloc(20 << 20));
    const engine = new SyncGunzip(64 * 1024);
    let inflated = 0;
    engine.push(wire);
    expect(engine.inflate((slice) => (inflated += slice.length) < 1 << 20)).toBe(false);
    engine.close();
    expect(inflated).toBeLessThanOrEqual((1 << 20) + 64 * 1024);
  });

  it('reads several gzip members one after another, and zero padding after the gzip data, as gunzipSync does', () => {
    const a = dumpLike(30_000);
    const b = randomBytes(20_000);
    const members = Buffer.concat([gzipSync(a), gzipSync(b)]);
    const padded = Buffer.concat([gzipSync(a), Buffer.alloc(3000)]);
    for (const piece of [1, 777, 1 << 20]) {
      expect(inflateAll(members, piece).out.equals(Buffer.concat([a, b]))).toBe(true);
      expect(inflateAll(padded, piece).out.equals(a)).toBe(true);
    }
    expect(gunzipSync(padded).equals(a)).toBe(true);
  });

  it('throws BadGzip for bytes that are not gzip, gzip cut short, and junk after the gzip data (gunzipSync refuses each too)', () => {
    const wire = gzipSync(dumpLike(50_000));
    const cases = {
      'not gzip': Buffer.from('this is not gzip at all'),
      'cut short': wire.subarray(0, wire.length - 10),
      'junk after': Buffer.concat([wire, Buffer.from('junk')]),
      'corrupt inside': Buffer.concat([wire.subarray(0, 100), Buffer.alloc(50, 0xff), wire.subarray(150)]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect([name, thrown(() => gunzipSync(bytes)) !== undefined]).toEqual([name, true]);
      for (const piece of [7, bytes.length]) {
        const err = thrown(() => inflateAll(bytes, piece));
        expect([name, err instanceof BadGzip && err.kind]).toEqual([name, 'bad_gzip']);
      }
    }
  });

  it('throws BadGzip once closed instead of writing to a closed zlib handle (which would abort the process)', () => {
    const engine = new SyncGunzip(1024);
    engine.push(gzipSync(Buffer.from('x')));
    engine.close();
    expect(thrown(() => engine.inflate(() => true))).toBeInstanceOf(BadGzip);
    expect(thrown(() => engine.finish(() => true))).toBeInstanceOf(BadGzip);
  });
});
