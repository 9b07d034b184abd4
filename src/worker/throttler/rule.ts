import { stringifyJson } from '../../shared/json-safe';

/** A throttle decision that ends the rule walk. */
export type Verdict = 'ACCEPT' | 'DEFER' | 'REJECT' | 'FAKEACCEPT';
/** What one side of a sampling rule may yield; CONTINUE goes on to the next rule. */
export type Outcome = Verdict | 'CONTINUE';
/** A fixed verdict, or `[percent, ifRandomAtMostPercent, otherwise]`. */
export type RuleResult = Verdict | readonly [number, Outcome, Outcome];

export const VERDICTS: readonly Verdict[] = ['ACCEPT', 'DEFER', 'REJECT', 'FAKEACCEPT'];
export const OUTCOMES: readonly Outcome[] = [...VERDICTS, 'CONTINUE'];

/** What a condition may consult besides the crash: the configured product lists. */
export interface ThrottlerContext {
  /** Supported products; empty = all. */
  products: readonly string[];
  /** Supported Android package names per product; empty = no check. */
  productPackageNames: Readonly<Record<string, readonly string[]>>;
  now: () => Date;
}

/**
 * One rule. With `key: '*'` the condition sees the whole raw crash; otherwise
 * it only runs when the annotation is present and sees its value as a string
 * (Antenna compares annotations as Python `str()`s).
 */
export interface Rule {
  name: string;
  key: string;
  // Rules written in JS get the annotation's value as it came (a string, or any JSON value from `extra`).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  condition: (value: any, ctx: ThrottlerContext) => boolean;
  result: RuleResult;
}

export const RULE_NAME_RE = /^[a-z0-9_]+$/i;

/**
 * The annotation as Python's `str()` would render it, so rules written for
 * Antenna behave the same: null → "None", booleans → "True"/"False".
 * Objects are rendered as JSON (Antenna would use a Python repr).
 */
export function pyStr(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return stringifyJson(value); // any depth BREAKPAD_MAX_JSON_DEPTH lets through
  return String(value);
}

/** `safe_get`: the value of `key` as a string, `fallback` when absent. */
export function safeGet(crash: Record<string, unknown>, key: string, fallback: unknown = ''): string {
  return pyStr(Object.prototype.hasOwnProperty.call(crash, key) ? crash[key] : fallback);
}

/** Returns a problem description, or undefined when the rule is well formed. */
export function ruleProblem(rule: Partial<Rule> | undefined): string | undefined {
  if (typeof rule !== 'object' || rule === null) return 'a rule must be an object';
  if (typeof rule.name !== 'string' || !RULE_NAME_RE.test(rule.name)) {
    return `name ${JSON.stringify(rule.name)} is invalid: expected letters, digits and underscores`;
  }
  if (typeof rule.key !== 'string' || rule.key === '') return 'key must be an annotation name or "*"';
  if (typeof rule.condition !== 'function') return 'condition must be a function';
  return resultProblem(rule.result);
}

export function resultProblem(result: unknown): string | undefined {
  if (typeof result === 'string') {
    return (VERDICTS as readonly string[]).includes(result)
      ? undefined
      : `result ${JSON.stringify(result)} is invalid: expected one of ${VERDICTS.join(', ')} or [percent, outcome, outcome]`;
  }
  if (Array.isArray(result) && result.length === 3) {
    const [pct, le, gt] = result as unknown[];
    if (typeof pct !== 'number' || !(pct >= 0 && pct <= 100)) return `sampling percent ${JSON.stringify(pct)} is invalid: expected a number from 0 to 100`;
    for (const o of [le, gt]) {
      if (!(OUTCOMES as readonly unknown[]).includes(o)) return `sampling outcome ${JSON.stringify(o)} is invalid: expected one of ${OUTCOMES.join(', ')}`;
    }
    return undefined;
  }
  return `result ${JSON.stringify(result)} is invalid: expected one of ${VERDICTS.join(', ')} or [percent, outcome, outcome]`;
}
