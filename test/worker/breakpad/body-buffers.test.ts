import { BodyBuffers, FREE_MIN_BYTES } from '../../../src/worker/breakpad/body-buffers';

/** A buffer that alone views its own memory, as the HTTP parser hands each body chunk over. */
const own = (n: number) => Buffer.from(new ArrayBuffer(n));
const freed = (b: Buffer) => b.buffer.byteLength === 0 && b.length === 0;
/** Node 22+ (engines) frees at once; on an older Node, free() leaves everything to the GC. */
const CAN_FREE = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

describe('BodyBuffers', () => {
  it('frees the buffers it tracks on free(): their memory is gone at once (their views read as empty)', () => {
    const buffers = new BodyBuffers();
    const a = own(64 * 1024).fill(1);
    const view = a.subarray(100, 200);
    buffers.track(a);
    buffers.free();
    expect(freed(a)).toBe(CAN_FREE);
    expect(view.length).toBe(CAN_FREE ? 0 : 100);
    // A second free() has nothing left to do.
    expect(() => buffers.free()).not.toThrow();
  });

  it('leaves alone what it does not hold alone: a slice of a larger buffer, a pooled small buffer, and anything below the minimum', () => {
    const buffers = new BodyBuffers();
    const big = own(256 * 1024);
    const slice = big.subarray(0, 64 * 1024);
    const pooled = Buffer.from('a small chunk from the shared pool');
    const small = own(FREE_MIN_BYTES - 1);
    for (const b of [slice, pooled, small]) buffers.track(b);
    buffers.free();
    expect([big.length, slice.length, pooled.length, small.length]).toEqual([256 * 1024, 64 * 1024, pooled.length, FREE_MIN_BYTES - 1]);
  });

  it('frees a buffer it was told it owns, whatever views of it were handed on', () => {
    const buffers = new BodyBuffers();
    const out = Buffer.allocUnsafe(64 * 1024);
    const slice = out.subarray(10, 4000);
    buffers.own(out);
    buffers.free();
    expect([freed(out), slice.length]).toEqual(CAN_FREE ? [true, 0] : [false, 3990]);
  });

  it('while a loan is out, free() leaves the bytes alone; once every loan is back, it frees them', () => {
    /** Whether a tracked buffer is freed with `loans` lent and `returns` calls made (in order, the first loan returned twice when asked). */
    const freedWith = (loans: number, returns: Array<number>) => {
      const buffers = new BodyBuffers();
      const b = own(32 * 1024);
      buffers.track(b);
      const giveBack = Array.from({ length: loans }, () => buffers.lend());
      for (const i of returns) giveBack[i]!();
      buffers.free();
      return freed(b);
    };
    expect(freedWith(1, [])).toBe(false);
    // A loan returned twice counts once.
    expect(freedWith(2, [0, 0])).toBe(false);
    expect(freedWith(2, [0, 1])).toBe(CAN_FREE);
    expect(freedWith(0, [])).toBe(CAN_FREE);
  });

  it('frees the bytes when the last loan comes back after the request is done, and only then', () => {
    const buffers = new BodyBuffers();
    const b = own(32 * 1024);
    buffers.track(b);
    const [first, second] = [buffers.lend(), buffers.lend()];
    buffers.free();
    first();
    expect(freed(b)).toBe(false);
    second();
    expect(freed(b)).toBe(CAN_FREE);
  });

  it('never frees bytes a loan kept: a sink that does not return it leaves them to the GC', () => {
    const buffers = new BodyBuffers();
    const b = own(32 * 1024);
    buffers.track(b);
    buffers.lend();
    buffers.free();
    buffers.free();
    expect(freed(b)).toBe(false);
  });
});
