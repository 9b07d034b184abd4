import { backoffDelay, Outage } from '../../../src/worker/spool/backoff';

describe('backoffDelay', () => {
  it('doubles from the base after each failure in a row, up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(10_000, 100, 60_000)).toBe(60_000);
  });

  it('stays a number after very many failures, even with no base delay (CRASHMOVER_RETRY_SLEEP_SECONDS=0)', () => {
    expect(backoffDelay(10_000, 0, 60_000)).toBe(0);
    expect(backoffDelay(31, 1, 2 ** 40)).toBe(2 ** 30);
    expect(backoffDelay(40, 1, 2 ** 40)).toBe(2 ** 30);
  });
});

describe('Outage', () => {
  it('starts at the first failure, backs off further at each, and ends at a success', () => {
    let now = 10_000;
    const o = new Outage(100, 1000, () => now);
    expect(o.since).toBeUndefined();
    expect(o.waitMs()).toBeLessThanOrEqual(0);

    expect(o.failed()).toBe(true);
    expect(o.since).toBe(10_000);
    expect(o.waitMs()).toBe(100);
    now += 50;
    expect(o.failed()).toBe(false);
    expect(o.since).toBe(10_000);
    expect(o.waitMs()).toBe(200);

    now += 5000;
    expect(o.waitMs()).toBeLessThanOrEqual(0);
    expect(o.succeeded()).toBe(5050);
    expect(o.since).toBeUndefined();
    expect(o.waitMs()).toBeLessThanOrEqual(0);
    expect(o.succeeded()).toBeUndefined();
  });

  it('lets the movers go at once after a success, even in the middle of a back-off', () => {
    let now = 0;
    const o = new Outage(1000, 1000, () => now);
    o.failed();
    now = 10;
    expect(o.waitMs()).toBe(990);
    expect(o.succeeded()).toBe(10);
    expect(o.waitMs()).toBeLessThanOrEqual(0);
  });

  it('begins a new outage, with the base delay again, after a success', () => {
    let now = 0;
    const o = new Outage(100, 1000, () => now);
    o.failed();
    o.failed();
    o.failed();
    o.succeeded();
    now = 7000;
    expect(o.failed()).toBe(true);
    expect(o.since).toBe(7000);
    expect(o.waitMs()).toBe(100);
  });
});
