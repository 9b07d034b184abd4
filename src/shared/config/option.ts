/**
 * One environment variable: its name, Antenna-compatible aliases, default,
 * documentation and a parser that turns the raw string into a typed value.
 * Parsers throw an Error whose message says what was expected.
 */
export interface Option<T> {
  env: string;
  aliases?: string[];
  /** Raw default, as it would be written in the environment; undefined = unset. */
  default?: string;
  /** Default shown in the docs when it is computed at start-up. */
  defaultDoc?: string;
  doc: string;
  /** Human-readable description of accepted values, used in docs and errors. */
  expected: string;
  secret?: boolean;
  parse: (raw: string | undefined) => T;
}

export type Section = Record<string, Option<unknown>>;
export type SectionValue<S extends Section> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

/** A number written in full (no exponent, no hex), within [min, max]. */
function numberParser(pattern: RegExp, min: number, max: number, expected: string): (raw: string) => number {
  return (raw) => {
    const text = raw.trim();
    const value = Number(text);
    if (!pattern.test(text) || !Number.isFinite(value) || value < min || value > max) throw new Error(`expected ${expected}`);
    return value;
  };
}

interface Common {
  env: string;
  aliases?: string[];
  doc: string;
  secret?: boolean;
  defaultDoc?: string;
}

function required<T>(parse: (raw: string) => T, def: string | undefined) {
  return (raw: string | undefined): T => {
    const value = raw === undefined || raw === '' ? def : raw;
    if (value === undefined) throw new Error('a value is required');
    return parse(value);
  };
}

export function int(o: Common & { default?: number; min?: number; max?: number }): Option<number> {
  const min = o.min ?? Number.MIN_SAFE_INTEGER;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  const expected = o.max !== undefined ? `an integer from ${min} to ${max}` : o.min !== undefined ? `an integer ≥ ${min}` : 'an integer';
  const parse = numberParser(/^-?\d+$/, min, max, expected);
  return { ...o, default: o.default?.toString(), expected, parse: required(parse, o.default?.toString()) };
}

export function num(o: Common & { default?: number; min?: number; max?: number }): Option<number> {
  const min = o.min ?? -Infinity;
  const max = o.max ?? Infinity;
  const expected = o.max !== undefined ? `a number from ${min} to ${max}` : o.min !== undefined ? `a number ≥ ${min}` : 'a number';
  const parse = numberParser(/^-?(\d+(\.\d*)?|\.\d+)$/, min, max, expected);
  return { ...o, default: o.default?.toString(), expected, parse: required(parse, o.default?.toString()) };
}

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off', ''];

export function bool(o: Common & { default: boolean }): Option<boolean> {
  const expected = 'a boolean: 1/true/yes/on or 0/false/no/off';
  return {
    ...o,
    default: o.default ? 'true' : 'false',
    expected,
    parse: (raw) => {
      if (raw === undefined) return o.default;
      const v = raw.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      throw new Error(`expected ${expected}`);
    },
  };
}

export function str(o: Common & { default?: string; pattern?: RegExp; expected?: string }): Option<string> {
  const expected = o.expected ?? 'a string';
  return {
    ...o,
    expected,
    parse: (raw) => {
      const value = raw === undefined || raw === '' ? o.default : raw;
      if (value === undefined) return '';
      if (o.pattern && !o.pattern.test(value)) throw new Error(`expected ${expected}`);
      return value;
    },
  };
}

/** A string that may be left unset (undefined). */
export function optionalStr(o: Common & { expected?: string; pattern?: RegExp }): Option<string | undefined> {
  const expected = o.expected ?? 'a string (optional)';
  return {
    ...o,
    expected,
    parse: (raw) => {
      if (raw === undefined || raw === '') return undefined;
      if (o.pattern && !o.pattern.test(raw)) throw new Error(`expected ${expected}`);
      return raw;
    },
  };
}

/** One of a fixed set of names; `aliasesOf` maps other spellings (e.g. Antenna class paths) to a name. */
export function choice<T extends string>(o: Common & { default: T; values: readonly T[]; valueAliases?: Record<string, T> }): Option<T> {
  const expected = `one of ${o.values.join(', ')}` + (o.valueAliases ? ` (or an Antenna alias: ${Object.keys(o.valueAliases).join(', ')})` : '');
  return {
    ...o,
    expected,
    parse: (raw) => {
      const value = raw === undefined || raw === '' ? o.default : raw.trim();
      if ((o.values as readonly string[]).includes(value)) return value as T;
      const alias = o.valueAliases?.[value];
      if (alias) return alias;
      throw new Error(`expected ${expected}`);
    },
  };
}

/** A free-form value whose parsing is done by a custom function (e.g. a rule set or a JSON map). */
export function custom<T>(o: Common & { default?: string; expected: string; parse: (raw: string) => T }): Option<T> {
  return { ...o, parse: required(o.parse, o.default) };
}

/** An integer that may be left unset (undefined), e.g. a port whose absence turns a feature off. */
export function optionalInt(o: Common & { min?: number; max?: number }): Option<number | undefined> {
  const { expected, parse } = int(o);
  return { ...o, expected: `${expected} (optional)`, parse: (raw) => (raw === undefined || raw.trim() === '' ? undefined : parse(raw)) };
}
