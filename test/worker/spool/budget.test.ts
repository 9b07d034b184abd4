import type { SpoolStats } from '../../../src/shared/spool/spool-dir';
import { admit, ByteBudget, HEADROOM, keepInMemory } from '../../../src/worker/spool/budget';

describe('admit', () => {
  const base = { bytes: 100, usedBytes: 0, maxBytes: 1000, claimed: 0, maxClaimed: 2 };

  it('refuses a crash that would take the spool past its limit, and takes one that exactly fits', () => {
    expect(admit({ ...base, usedBytes: 901 })).toEqual({ refuse: 'full' });
    expect(admit({ ...base, usedBytes: 900 })).toEqual({ into: 'claimed' });
    expect(admit({ ...base, bytes: 1001 })).toEqual({ refuse: 'full' });
  });

  it('claims a crash while fewer than maxClaimed wait here, and leaves it in ready/ beyond', () => {
    expect(admit({ ...base, claimed: 1 })).toEqual({ into: 'claimed' });
    expect(admit({ ...base, claimed: 2 })).toEqual({ into: 'ready' });
    expect(admit({ ...base, claimed: 5, usedBytes: 999 })).toEqual({ refuse: 'full' });
  });
});

describe('keepInMemory', () => {
  it('keeps the bytes only when a mover is free for the crash', () => {
    expect(keepInMemory(0, 0, 1)).toBe(true);
    expect(keepInMemory(1, 0, 2)).toBe(true);
    expect(keepInMemory(1, 1, 2)).toBe(false);
    expect(keepInMemory(0, 3, 2)).toBe(false);
  });
});

describe('ByteBudget', () => {
  const listing = (bytes: number, scannedAt: number): SpoolStats => ({ crashes: bytes > 0 ? 1 : 0, bytes, oldestSpooledAt: undefined, claimed: {}, scannedAt });

  it('counts the last listing plus this worker’s writes made since it', () => {
    let now = 1000;
    const b = new ByteBudget(10 * HEADROOM, () => now);
    expect(b.usedBytes()).toBe(0);
    b.record(300);
    now = 2000;
    b.record(200);
    expect(b.usedBytes()).toBe(500);
    // A listing taken at 1500 already saw the first write, not the second.
    b.update(listing(300, 1500));
    expect(b.usedBytes()).toBe(500);
    b.update(listing(0, 2500));
    expect(b.usedBytes()).toBe(0);
  });

  it('keeps counting a write made at the very millisecond a listing began (the listing may have missed it)', () => {
    let now = 1000;
    const b = new ByteBudget(10 * HEADROOM, () => now);
    b.record(300);
    b.update(listing(0, 1000));
    expect(b.usedBytes()).toBe(300);
    now = 1001;
    b.update(listing(300, 1001));
    expect(b.usedBytes()).toBe(300);
  });

  it('is full once less than the headroom is left', () => {
    const b = new ByteBudget(HEADROOM + 1000);
    b.record(1000);
    expect(b.isFull()).toBe(false);
    b.record(1);
    expect(b.isFull()).toBe(true);
  });
});
