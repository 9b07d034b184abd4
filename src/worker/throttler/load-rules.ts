import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ruleProblem, type Rule } from './rule';

/**
 * Operator-supplied rules: a JSON file of declarative rules, or a JS module
 * whose rules may also carry arbitrary condition functions. Both are checked
 * rule by rule at start-up; any problem stops the collector with a message
 * that names the variable, the file and the rule.
 *
 * A declarative rule has `name`, `key`, `result` and at most one condition:
 * `equals`, `notEquals`, `in`, `notIn`, `startsWith` or `matches` (a regular
 * expression). No condition means the rule matches whenever the key is
 * present (`key: "*"`: always).
 */
const CONDITIONS: Record<string, (arg: unknown) => ((value: string) => boolean) | string> = {
  equals: (arg) => (typeof arg === 'string' ? (v) => v === arg : 'equals must be a string'),
  notEquals: (arg) => (typeof arg === 'string' ? (v) => v !== arg : 'notEquals must be a string'),
  in: (arg) => (isStringList(arg) ? (v) => arg.includes(v) : 'in must be a list of strings'),
  notIn: (arg) => (isStringList(arg) ? (v) => !arg.includes(v) : 'notIn must be a list of strings'),
  startsWith: (arg) => (typeof arg === 'string' ? (v) => v.startsWith(arg) : 'startsWith must be a string'),
  matches: (arg) => {
    if (typeof arg !== 'string') return 'matches must be a regular expression as a string';
    try {
      const re = new RegExp(arg);
      return (v) => re.test(v);
    } catch (err) {
      return `matches is not a valid regular expression: ${(err as Error).message}`;
    }
  },
};

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Turns one declarative or JS rule into a Rule, or returns what is wrong with it. */
export function compileRule(spec: unknown): Rule | string {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return 'a rule must be an object';
  const s = spec as Record<string, unknown>;
  const declared = Object.keys(CONDITIONS).filter((k) => k in s);
  if (declared.length > 0 && 'condition' in s) return `give either condition or ${declared.join('/')}, not both`;
  if (declared.length > 1) return `give at most one of ${declared.join(', ')}`;
  let condition = s.condition;
  if (declared.length === 1) {
    if (s.key === '*') return `${declared[0]} compares one annotation; it needs a key other than "*"`;
    const made = CONDITIONS[declared[0]!]!(s[declared[0]!]);
    if (typeof made === 'string') return made;
    condition = made;
  } else if (condition === undefined) {
    condition = () => true;
  }
  const rule = { name: s.name, key: s.key, condition, result: s.result } as Rule;
  return ruleProblem(rule) ?? rule;
}

function extractRules(loaded: unknown): unknown[] | undefined {
  if (Array.isArray(loaded)) return loaded;
  if (typeof loaded === 'object' && loaded !== null) {
    const o = loaded as Record<string, unknown>;
    if (Array.isArray(o.rules)) return o.rules;
    if (o.default !== undefined) return extractRules(o.default);
  }
  return undefined;
}

export class RulesError extends Error {
  constructor(source: string, problem: string) {
    super(`BREAKPAD_THROTTLER_RULES=${source}: ${problem}`);
    this.name = 'RulesError';
  }
}

/** Reads and validates a rules file (`.json`, `.js`, `.cjs`); throws RulesError. */
export function loadRulesFile(file: string): Rule[] {
  const full = path.resolve(file);
  let loaded: unknown;
  try {
    if (file.endsWith('.json')) {
      loaded = JSON.parse(readFileSync(full, 'utf8'));
    } else {
      // Rules are loaded once, at start-up, before any request is served; the
      // path is the operator's, known only at run time.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(full);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' || e.code === 'MODULE_NOT_FOUND' ? `file ${full} not found` : `cannot load ${full}: ${e.message}`;
    throw new RulesError(file, `${why}; expected a readable .json or .js rules file (see docs/throttling.md)`);
  }
  const specs = extractRules(loaded);
  if (!specs) throw new RulesError(file, 'expected a list of rules, or an object with a "rules" list');
  if (specs.length === 0) throw new RulesError(file, 'the rule list is empty; every crash would be rejected by NO_MATCH');
  const names = new Set<string>();
  return specs.map((spec, i) => {
    const compiled = compileRule(spec);
    const label = `rule #${i + 1}${typeof (spec as { name?: unknown })?.name === 'string' ? ` (${(spec as { name: string }).name})` : ''}`;
    if (typeof compiled === 'string') throw new RulesError(file, `${label}: ${compiled}`);
    if (names.has(compiled.name)) throw new RulesError(file, `${label}: the name ${compiled.name} is used twice; metrics and logs need unique rule names`);
    names.add(compiled.name);
    return compiled;
  });
}
