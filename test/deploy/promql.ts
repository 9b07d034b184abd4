import { parser } from '@prometheus-io/lezer-promql';

/** One `name{label op "value", …}` in a query; `{__name__=~"…"}` gives `nameRegex` instead of `metric`. */
export interface Selector {
  metric?: string;
  nameRegex?: string;
  matchers: { label: string; op: '=' | '!=' | '=~' | '!~'; value: string }[];
}

/** What a query reads: its selectors, and the labels each `by (…)` groups on with the selectors it aggregates. */
export interface QueryUse {
  selectors: Selector[];
  groupings: { labels: string[]; selectors: Selector[] }[];
  /** Syntax errors, as the text around each one. */
  errors: string[];
}

type Node = NonNullable<ReturnType<typeof parser.parse>['topNode']['firstChild']>;

const OPS = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' } as const;

/** Grafana's interval variables are not PromQL; they stand for a duration. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

function unquote(literal: string): string {
  if (literal.startsWith('"')) return JSON.parse(literal) as string;
  return literal.slice(1, -1);
}

/**
 * Parses a PromQL expression with Prometheus' own grammar (the one its web UI
 * uses) and lists the metrics and labels it reads.
 */
export function analyseQuery(expr: string): QueryUse {
  const tree = parser.parse(expr);
  const text = (n: Node) => expr.slice(n.from, n.to);
  const use: QueryUse = { selectors: [], groupings: [], errors: [] };

  function selectorsUnder(node: Node): Selector[] {
    const found: Selector[] = [];
    const cursor = node.cursor();
    do {
      if (cursor.name !== 'VectorSelector') continue;
      const sel = cursor.node as Node;
      const id = sel.getChild('Identifier');
      const matchers: Selector['matchers'] = [];
      for (const m of sel.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const op = m.getChild('MatchOp')?.firstChild?.name as keyof typeof OPS | undefined;
        const label = m.getChild('LabelName');
        const value = m.getChild('StringLiteral');
        if (op && label && value) matchers.push({ label: text(label), op: OPS[op], value: unquote(text(value)) });
      }
      const byName = matchers.find((m) => m.label === '__name__' && m.op === '=');
      const byRegex = matchers.find((m) => m.label === '__name__' && m.op === '=~');
      found.push({
        metric: id ? text(id) : byName?.value,
        nameRegex: id || byName ? undefined : byRegex?.value,
        matchers: matchers.filter((m) => m.label !== '__name__'),
      });
    } while (cursor.next() && cursor.from < node.to);
    return found;
  }

  use.selectors = selectorsUnder(tree.topNode);
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) use.errors.push(`${expr.slice(Math.max(0, ref.from - 20), ref.to + 20)} (at ${ref.from})`);
      if (ref.name !== 'AggregateExpr') return;
      const agg = ref.node;
      const modifier = agg.getChild('AggregateModifier');
      if (!modifier?.getChild('By')) return;
      const labels = (modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map(text);
      const body = agg.getChild('FunctionCallBody');
      use.groupings.push({ labels, selectors: body ? selectorsUnder(body) : [] });
    },
  });
  return use;
}
