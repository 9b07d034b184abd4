import { BodyRateFloor } from '../../../src/worker/breakpad/body-rate';

describe('BodyRateFloor', () => {
  it('judges each full window from the first byte, and forgives a stall inside one', () => {
    const floor = new BodyRateFloor(100, 10_000);
    expect(floor.tooSlow(50_000)).toBe(false); // no byte yet: the idle timeout's business
    floor.received(500, 0);
    expect(floor.tooSlow(9_999)).toBe(false); // window not complete
    floor.received(600, 9_000); // 1100 bytes in 10 s: above 100 B/s
    expect(floor.tooSlow(10_000)).toBe(false);
    floor.received(999, 19_000); // next window: 999 bytes in 10 s
    expect(floor.tooSlow(20_000)).toBe(true);
  });

  it('measures over the time actually elapsed when the check comes late', () => {
    const floor = new BodyRateFloor(100, 10_000);
    floor.received(1500, 0);
    expect(floor.tooSlow(20_000)).toBe(true); // 1500 bytes in 20 s
  });

  it('accepts any rate when the minimum is 0', () => {
    const floor = new BodyRateFloor(0, 10);
    floor.received(1, 0);
    expect(floor.tooSlow(1_000_000)).toBe(false);
  });

  it('leaves excused time out of the window: the time a worker held the body back is not judged', () => {
    const floor = new BodyRateFloor(100, 10_000);
    floor.received(600, 0);
    floor.excuse(30_000); // 30 s in line behind other uploads
    floor.received(400, 31_000);
    expect(floor.tooSlow(35_000)).toBe(false); // 5 s of the client's own time: the window is not complete
    expect(floor.tooSlow(40_000)).toBe(false); // 1000 bytes in its 10 s
    floor.received(100, 41_000);
    expect(floor.tooSlow(50_000)).toBe(true); // 100 bytes in the next 10 s
  });
});
