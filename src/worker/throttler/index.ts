import type { RuleSetSource } from '../../shared/config/sections/throttler';
import { loadRulesFile } from './load-rules';
import type { Rule, ThrottlerContext } from './rule';
import { ACCEPT_ALL_RULES } from './rules-accept-all';
import { MOZILLA_RULES } from './rules-mozilla';
import { throttle, type ThrottleDecision } from './throttler';

export type { ThrottleDecision } from './throttler';

export interface ThrottlerConfig {
  rules: RuleSetSource;
  products: readonly string[];
  productPackageNames: Readonly<Record<string, readonly string[]>>;
}

export interface Throttler {
  readonly rules: readonly Rule[];
  throttle(rawCrash: Record<string, unknown>): ThrottleDecision;
}

export function resolveRules(source: RuleSetSource): readonly Rule[] {
  if (source.kind === 'file') return loadRulesFile(source.path);
  return source.name === 'mozilla' ? MOZILLA_RULES : ACCEPT_ALL_RULES;
}

/** Builds the throttler once at start-up; throws RulesError for a bad rules file. */
export function createThrottler(config: ThrottlerConfig, deps: { random?: () => number; now?: () => Date } = {}): Throttler {
  const rules = resolveRules(config.rules);
  const ctx: ThrottlerContext = {
    products: config.products,
    productPackageNames: config.productPackageNames,
    now: deps.now ?? (() => new Date()),
  };
  const random = deps.random ?? Math.random;
  return { rules, throttle: (rawCrash) => throttle(rules, rawCrash, ctx, random) };
}
