import { jsonDepth, stringifyJson } from '../../src/shared/json-safe';

/** `{"a":{"a":...1...}}`, `depth` objects deep, as a client would send it. */
export const nestedObjectText = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const nestedArrayText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('stringifyJson', () => {
  it('writes what JSON.stringify writes, for data and its edge cases', () => {
    const values: unknown[] = [
      { a: 1, b: [1, undefined, () => 1, null, NaN, -0, 1e21, 'x\u2028"\\\u0001'], c: undefined, d: { e: new Date(0) }, f: {}, g: [] },
      [],
      {},
      'text',
      0.1,
      null,
      true,
      [[[]]],
      { t: { toJSON: () => undefined }, u: 1 },
      { same: { x: 1 }, again: { x: 1 } },
    ];
    for (const v of values) expect(stringifyJson(v)).toBe(JSON.stringify(v));
  });

  it('sorts keys at every level in plain string order (Python sort_keys), integer-like keys included', () => {
    expect(stringifyJson({ z: 1, a: { y: [{ q: 1, b: 2 }], c: 3 }, m: 'x' }, { sortKeys: true })).toBe('{"a":{"c":3,"y":[{"b":2,"q":1}]},"m":"x","z":1}');
    expect(stringifyJson({ 9: 'a', 10: 'b', x: 'c' }, { sortKeys: true })).toBe('{"10":"b","9":"a","x":"c"}');
  });

  it('throws a TypeError on a cycle and on a BigInt, as JSON.stringify does', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stringifyJson(cyclic)).toThrow(TypeError);
    expect(() => stringifyJson({ n: BigInt(1) })).toThrow(TypeError);
  });

  it.each([100, 3_000, 100_000])('writes a value nested %i deep that JSON.parse accepted, without overflowing the stack', (depth) => {
    for (const text of [nestedObjectText(depth), nestedArrayText(depth)]) {
      expect(stringifyJson(JSON.parse(text), { sortKeys: true })).toBe(text);
    }
  });

  it('writes huge arrays and objects', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 500_000; i++) wide[`k${String(i).padStart(6, '0')}`] = i; // inserted in sorted order
    const long = new Array<number>(500_000).fill(7);
    expect(stringifyJson({ long, wide }, { sortKeys: true }) === JSON.stringify({ long, wide })).toBe(true);
  });
});

describe('jsonDepth', () => {
  it('counts nesting: 0 for primitives, 1 for a flat container', () => {
    expect(jsonDepth('x')).toBe(0);
    expect(jsonDepth({})).toBe(1);
    expect(jsonDepth({ a: 1, b: [2, { c: [] }] })).toBe(4);
  });

  it.each([100, 3_000, 100_000])('measures %i levels without recursion, and stops early past a limit', (depth) => {
    const value = JSON.parse(nestedObjectText(depth));
    expect(jsonDepth(value)).toBe(depth);
    expect(jsonDepth(value, 50)).toBe(51);
  });
});
