import { TurnBudget } from '../../../src/worker/breakpad/turn-budget';

/** A hand-driven event loop: `turn()` runs what was deferred to the next turn. */
function loop() {
  let queued: Array<() => void> = [];
  return {
    nextTurn: (fn: () => void) => void queued.push(fn),
    turn() {
      const run = queued;
      queued = [];
      for (const fn of run) fn();
    },
  };
}

describe('TurnBudget', () => {
  it('allows bytes up to the budget within one turn, then refuses until the next turn', () => {
    const l = loop();
    const budget = new TurnBudget(100, l.nextTurn);
    expect(budget.spend(60)).toBe(true);
    expect(budget.spend(40)).toBe(true);
    expect(budget.spend(1)).toBe(false);
    l.turn();
    expect(budget.spend(100)).toBe(true);
    expect(budget.spend(1)).toBe(false);
  });

  it('renews the budget before the uploads that waited for the next turn resume', () => {
    const l = loop();
    const budget = new TurnBudget(10, l.nextTurn);
    const resumed: boolean[] = [];
    expect(budget.spend(50)).toBe(false);
    budget.waitForNextTurn(() => resumed.push(budget.spend(10)));
    l.turn();
    expect(resumed).toEqual([true]);
  });
});
