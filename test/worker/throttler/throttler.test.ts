import { parsePackageNames, parseProducts } from '../../../src/shared/config/sections/throttler';
import { createThrottler } from '../../../src/worker/throttler';
import { pyStr, type Rule, type ThrottlerContext } from '../../../src/worker/throttler/rule';
import { throttle } from '../../../src/worker/throttler/throttler';

const ctx: ThrottlerContext = { products: [], productPackageNames: {}, now: () => new Date() };
const fixed = (n: number) => () => n;

describe('rule walk', () => {
  it('a keyed rule only matches when the key is present, comparing strings', () => {
    const rules: Rule[] = [{ name: 'foo_bar', key: 'Foo', condition: (x: string) => x === 'bar', result: 'DEFER' }];
    expect(throttle(rules, { Foo: 'bar' }, ctx).result).toBe('DEFER');
    expect(throttle(rules, { Foo: 'piano' }, ctx)).toEqual({ result: 'REJECT', ruleName: 'NO_MATCH', percentage: 0 });
    expect(throttle(rules, {}, ctx).ruleName).toBe('NO_MATCH');
  });

  it('annotation values are seen as Python would print them', () => {
    const seen: string[] = [];
    const rules: Rule[] = [{ name: 'spy', key: 'V', condition: (x: string) => (seen.push(x), false), result: 'ACCEPT' }];
    for (const v of [null, true, false, 3, 'x']) throttle(rules, { V: v }, ctx);
    expect(seen).toEqual(['None', 'True', 'False', '3', 'x']);
    expect(pyStr(undefined)).toBe('');
  });

  it('samples: random ≤ percent takes the first outcome, above takes the second', () => {
    const rules: Rule[] = [{ name: 'test', key: 'ProductName', condition: (x: string) => x === 'test', result: [50, 'ACCEPT', 'REJECT'] }];
    expect(throttle(rules, { ProductName: 'test' }, ctx, fixed(0.45))).toEqual({ result: 'ACCEPT', ruleName: 'test', percentage: 50 });
    expect(throttle(rules, { ProductName: 'test' }, ctx, fixed(0.5))).toEqual({ result: 'ACCEPT', ruleName: 'test', percentage: 50 });
    expect(throttle(rules, { ProductName: 'test' }, ctx, fixed(0.55))).toEqual({ result: 'REJECT', ruleName: 'test', percentage: 50 });
  });

  it('CONTINUE goes on to the next rule', () => {
    const rules: Rule[] = [
      { name: 'sampled', key: '*', condition: () => true, result: [10, 'CONTINUE', 'REJECT'] },
      { name: 'rest', key: '*', condition: () => true, result: 'DEFER' },
    ];
    expect(throttle(rules, {}, ctx, fixed(0.05))).toEqual({ result: 'DEFER', ruleName: 'rest', percentage: 100 });
    expect(throttle(rules, {}, ctx, fixed(0.5))).toEqual({ result: 'REJECT', ruleName: 'sampled', percentage: 10 });
  });
});

describe('createThrottler', () => {
  it('accept_all accepts everything by accept_everything', () => {
    const t = createThrottler({ rules: { kind: 'builtin', name: 'accept_all' }, products: [], productPackageNames: {} });
    expect(t.throttle({ ProductName: 'Test' })).toEqual({ result: 'ACCEPT', ruleName: 'accept_everything', percentage: 100 });
    expect(t.throttle({})).toEqual({ result: 'ACCEPT', ruleName: 'accept_everything', percentage: 100 });
  });

  it('mozilla uses the configured product lists', () => {
    const t = createThrottler({
      rules: { kind: 'builtin', name: 'mozilla' },
      products: parseProducts('mozilla'),
      productPackageNames: parsePackageNames('mozilla'),
    });
    expect(t.throttle({ ProductName: 'testproduct' }).ruleName).toBe('unsupported_product');
    expect(t.throttle({ ProductName: 'Fenix', Android_PackageName: 'org.mozilla.fenix', ReleaseChannel: 'nightly' }).ruleName).toBe('is_nightly');
  });
});
