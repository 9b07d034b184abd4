import { custom } from '../option';
import { MOZILLA_PRODUCT_PACKAGENAMES, MOZILLA_PRODUCTS } from '../../mozilla-products';

export type RuleSetSource = { kind: 'builtin'; name: 'accept_all' | 'mozilla' } | { kind: 'file'; path: string };

const RULE_ALIASES: Record<string, RuleSetSource> = {
  accept_all: { kind: 'builtin', name: 'accept_all' },
  mozilla: { kind: 'builtin', name: 'mozilla' },
  'antenna.throttler.ACCEPT_ALL': { kind: 'builtin', name: 'accept_all' },
  'antenna.throttler.MOZILLA_RULES': { kind: 'builtin', name: 'mozilla' },
};

export function parseRuleSetSource(raw: string): RuleSetSource {
  const value = raw.trim();
  const builtin = RULE_ALIASES[value];
  if (builtin) return builtin;
  if (/\.(json|js|cjs)$/.test(value)) return { kind: 'file', path: value };
  throw new Error('expected accept_all, mozilla, an Antenna rule path, or a path to a .json or .js rules file');
}

export function parseProducts(raw: string): string[] {
  const value = raw.trim();
  if (value === 'all' || value === 'antenna.throttler.ALL_PRODUCTS') return [];
  if (value === 'mozilla' || value === 'antenna.throttler.MOZILLA_PRODUCTS') return [...MOZILLA_PRODUCTS];
  const list = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (list.length === 0) throw new Error('expected all, mozilla, or a comma-separated list of product names');
  return list;
}

export function parsePackageNames(raw: string): Record<string, string[]> {
  const value = raw.trim();
  if (value === 'all' || value === 'antenna.throttler.ALL_PRODUCT_PACKAGENAMES') return {};
  if (value === 'mozilla' || value === 'antenna.throttler.MOZILLA_PRODUCT_PACKAGENAMES') {
    return Object.fromEntries(Object.entries(MOZILLA_PRODUCT_PACKAGENAMES).map(([k, v]) => [k, [...v]]));
  }
  const expected = 'expected all, mozilla, or a JSON object mapping product name to a list of package names';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(expected);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(expected);
  for (const list of Object.values(parsed)) {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error(expected);
  }
  return parsed as Record<string, string[]>;
}

/** The throttler: which crashes are kept. */
export const throttlerOptions = {
  rules: custom<RuleSetSource>({
    env: 'BREAKPAD_THROTTLER_RULES',
    default: 'accept_all',
    expected: '`accept_all`, `mozilla`, or a path to a `.json` or `.js` rules file',
    doc: 'Throttle rule set. `accept_all` keeps everything; `mozilla` is Antenna’s production rule set. See docs/throttling.md for rules files.',
    parse: parseRuleSetSource,
  }),
  products: custom<string[]>({
    env: 'BREAKPAD_THROTTLER_PRODUCTS',
    default: 'all',
    expected: '`all`, `mozilla`, or a comma-separated list of product names',
    doc: 'Products accepted by the `unsupported_product` rule (`all` = every product).',
    parse: parseProducts,
  }),
  productPackageNames: custom<Record<string, string[]>>({
    env: 'BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES',
    default: 'all',
    expected: '`all`, `mozilla`, or a JSON object `{"Product": ["package.name", …]}`',
    doc: 'Android package names accepted per product by the `unsupported_packagename` rule (`all` = no check).',
    parse: parsePackageNames,
  }),
};
