import { MemoryBudget } from '../../../src/worker/breakpad/memory-budget';

describe('MemoryBudget', () => {
  it('lets holders add up to the budget, refuses the add that would pass it, and gets every byte back on release', () => {
    const budget = new MemoryBudget(1000, 30);
    const a = budget.hold();
    const b = budget.hold();
    expect(a.add(600)).toBe(true);
    expect(b.add(300)).toBe(true);
    expect(b.add(101)).toBe(false); // nothing counted for a refused add
    expect([budget.inUse, b.bytes]).toEqual([900, 300]);
    expect(b.add(100)).toBe(true);
    a.release();
    a.release(); // twice is once
    expect(budget.inUse).toBe(400);
    expect(a.add(1)).toBe(false); // a released holder takes nothing more
    b.release();
    expect(budget.inUse).toBe(0);
  });

  it('refuses with 503, Retry-After and a body naming the setting', () => {
    const r = new MemoryBudget(1, 12).refusal();
    expect([r.status, r.retryAfterSeconds, r.reason]).toEqual([503, 12, 'memory_budget']);
    expect(r.body).toBe('Error: the collector is busy (too many upload bytes in memory, BREAKPAD_WORKER_MEMORY_BUDGET); retry after 12 seconds');
  });
});
