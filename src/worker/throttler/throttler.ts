import { pyStr, type Rule, type ThrottlerContext, type Verdict } from './rule';

export interface ThrottleDecision {
  result: Verdict;
  ruleName: string;
  /** 100 for a fixed verdict, the rule's percent for a sampled one, 0 for NO_MATCH. */
  percentage: number;
}

/**
 * Walks the rules in order; the first match that yields a verdict wins.
 * `random` returns [0, 1) like Math.random and is injectable for tests.
 */
export function throttle(rules: readonly Rule[], crash: Record<string, unknown>, ctx: ThrottlerContext, random: () => number = Math.random): ThrottleDecision {
  for (const rule of rules) {
    if (!matches(rule, crash, ctx)) continue;
    if (typeof rule.result === 'string') return { result: rule.result, ruleName: rule.name, percentage: 100 };
    const [percent, atMost, otherwise] = rule.result;
    const outcome = random() * 100 <= percent ? atMost : otherwise;
    if (outcome !== 'CONTINUE') return { result: outcome, ruleName: rule.name, percentage: percent };
  }
  return { result: 'REJECT', ruleName: 'NO_MATCH', percentage: 0 };
}

function matches(rule: Rule, crash: Record<string, unknown>, ctx: ThrottlerContext): boolean {
  if (rule.key === '*') return Boolean(rule.condition(crash, ctx));
  if (!Object.prototype.hasOwnProperty.call(crash, rule.key)) return false;
  return Boolean(rule.condition(pyStr(crash[rule.key]), ctx));
}
