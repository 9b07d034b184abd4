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

  it('lets the upload that started first go on alone while each turn spends the whole budget', () => {
    const l = loop();
    const budget = new TurnBudget(10, l.nextTurn);
    const [first, second, third] = [budget.enter(), budget.enter(), budget.enter()];
    const resumed: string[] = [];
    const waitAsIf = (name: string, place: number) => budget.waitForNextTurn(() => resumed.push(name), place);
    expect(budget.spend(30)).toBe(false);
    // They paused in the order their chunks came, not the order they started.
    waitAsIf('third', third);
    waitAsIf('first', first);
    waitAsIf('second', second);
    l.turn();
    expect(resumed).toEqual(['first']);
    // The first spends this turn's budget and waits again: it goes on alone again.
    expect(budget.spend(20)).toBe(false);
    waitAsIf('first', first);
    l.turn();
    expect(resumed).toEqual(['first', 'first']);
  });

  it('lets everyone waiting go on after a turn that left budget unspent', () => {
    const l = loop();
    const budget = new TurnBudget(10, l.nextTurn);
    const [first, second, third] = [budget.enter(), budget.enter(), budget.enter()];
    const resumed: string[] = [];
    expect(budget.spend(30)).toBe(false);
    budget.waitForNextTurn(() => resumed.push('second'), second);
    budget.waitForNextTurn(() => resumed.push('first'), first);
    budget.waitForNextTurn(() => resumed.push('third'), third);
    l.turn();
    expect(resumed).toEqual(['first']);
    // The first had 4 bytes left to read: the turn ends with budget to spare.
    expect(budget.spend(4)).toBe(true);
    l.turn();
    expect(resumed).toEqual(['first', 'second', 'third']);
  });

  it('still resumes the rest when the one let go on reads nothing (its client went away)', () => {
    const l = loop();
    const budget = new TurnBudget(10, l.nextTurn);
    const [first, second] = [budget.enter(), budget.enter()];
    const resumed: string[] = [];
    expect(budget.spend(30)).toBe(false);
    budget.waitForNextTurn(() => resumed.push('first'), first);
    budget.waitForNextTurn(() => resumed.push('second'), second);
    l.turn();
    expect(resumed).toEqual(['first']);
    // Nothing spends or waits in this turn; the second must not be forgotten.
    l.turn();
    expect(resumed).toEqual(['first', 'second']);
  });

  it('queues waiters without a place behind those with one, in the order they came', () => {
    const l = loop();
    const budget = new TurnBudget(10, l.nextTurn);
    const place = budget.enter();
    const resumed: string[] = [];
    budget.waitForNextTurn(() => resumed.push('a'));
    budget.waitForNextTurn(() => resumed.push('b'));
    budget.waitForNextTurn(() => resumed.push('placed'), place);
    l.turn();
    expect(resumed).toEqual(['placed', 'a', 'b']);
  });
});
