import { pyStr } from '../../../src/worker/throttler/rule';

describe('pyStr', () => {
  it('renders an annotation nested 100,000 deep (BREAKPAD_MAX_JSON_DEPTH raised) instead of overflowing the stack', () => {
    const text = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(pyStr(JSON.parse(text))).toBe(text);
    expect(pyStr({ b: 1, a: [true] })).toBe('{"b":1,"a":[true]}');
  });
});
