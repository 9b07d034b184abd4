/**
 * `npm run chaos`: the reliability trials (docs/reliability.md). Bounded, on
 * 127.0.0.1 only; every node it starts and every temp dir is removed at the
 * end, on error and on Ctrl-C. Exits 1 when any scenario fails: a crash
 * acknowledged but not stored byte for byte, a 5xx or silence on hostile
 * input, a worker that died on input, a node that did not come back.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { cleanUpNow } from './lib/node';
import { categoryTable, details, summaryTable } from './lib/report';
import type { ScenarioOptions, ScenarioResult } from './lib/scenario';
import { fsFault } from './scenarios/fs-fault';
import { fuzz } from './scenarios/fuzz';
import { gcsOutage } from './scenarios/gcs-outage';
import { slowClients } from './scenarios/slow-clients';
import { treeKill } from './scenarios/tree-kill';
import { workerKill } from './scenarios/worker-kill';

const SCENARIOS: Record<string, (o: ScenarioOptions) => Promise<ScenarioResult>> = {
  'worker-kill': workerKill,
  'fs-fault': fsFault,
  'gcs-outage': gcsOutage,
  'tree-kill': treeKill,
  fuzz,
  'slow-clients': slowClients,
};

const USAGE = `usage: npm run chaos -- [--only LIST] [--duration S] [--fuzz-count N] [--seed N]

  --only LIST       comma-separated scenarios (default all): ${Object.keys(SCENARIOS).join(', ')}
  --duration S      seconds of load per fault scenario (default 25; 5..300)
  --fuzz-count N    requests in the hostile corpus (default 12000: over 10,000 hostile ones besides the controls)
  --seed N          corpus and load seed (default 12); the same seed sends the same bytes`;

function parse(argv: string[]): { only: string[]; durationS: number; fuzzCount: number; seed: number } {
  const o = { only: Object.keys(SCENARIOS), durationS: 25, fuzzCount: 12000, seed: 12 };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value\n${USAGE}`);
      return v;
    };
    const num = (name: string, v: string, lo: number, hi: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${name} must be an integer from ${lo} to ${hi}, not ${v}`);
      return n;
    };
    switch (argv[i]) {
      case '--only':
        o.only = value().split(',').filter(Boolean);
        for (const s of o.only) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}; known: ${Object.keys(SCENARIOS).join(', ')}`);
        break;
      case '--duration':
        o.durationS = num('--duration', value(), 5, 300);
        break;
      case '--fuzz-count':
        o.fuzzCount = num('--fuzz-count', value(), 1, 200000);
        break;
      case '--seed':
        o.seed = num('--seed', value(), 0, 2 ** 31);
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      // falls through (exit)
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  return o;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const t0 = Date.now();
  const log = (msg: string) => process.stderr.write(`chaos [+${((Date.now() - t0) / 1000).toFixed(1)}s]: ${msg}\n`);
  const results: ScenarioResult[] = [];
  for (const name of args.only) {
    log(`${name}: starting`);
    try {
      const r = await SCENARIOS[name]!({ seed: args.seed, durationS: args.durationS, fuzzCount: args.fuzzCount, log });
      results.push(r);
      log(`${name}: ${r.failures.length === 0 ? 'PASS' : 'FAIL'} in ${r.seconds.toFixed(0)} s`);
    } catch (err) {
      log(`${name}: the scenario itself failed: ${(err as Error).stack ?? String(err)}`);
      cleanUpNow();
      throw err;
    }
  }
  const failed = results.filter((r) => r.failures.length > 0);
  const lost = results.reduce((n, r) => n + r.audit.lost, 0);
  const fuzzResult = results.find((r) => r.name === 'fuzz');
  const out = [
    `## Chaos run: commit ${commit()}, seed ${args.seed}, ${args.durationS} s per fault scenario, ${new Date().toISOString().slice(0, 16)}Z, ${((Date.now() - t0) / 1000) | 0} s`,
    '',
    summaryTable(results),
    '',
  ];
  if (fuzzResult)
    out.push(
      `### Hostile corpus by category (${fuzzResult.tally.sent} requests; ✗ = 5xx, silence where an answer was owed, a refused control, or a loss)`,
      '',
      categoryTable(fuzzResult),
      '',
    );
  const d = details(results);
  if (d) out.push('### Findings', '', d, '');
  out.push(
    `**Verdict: ${failed.length === 0 ? 'PASS' : 'FAIL'}** — ${lost} lost, ${fuzzResult ? `${fuzzResult.tally.fiveXx} 5xx on hostile input` : 'fuzz not run'}` +
      (failed.length ? `; failing: ${failed.map((r) => r.name).join(', ')}` : ''),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  return failed.length === 0 ? 0 : 1;
}

process.on('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`chaos: ${signal}: stopping every node\n`);
    cleanUpNow();
    process.exit(130);
  });
}

main().then(
  (code) => {
    cleanUpNow();
    process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`chaos: ${err.message}\n`);
    cleanUpNow();
    process.exit(2);
  },
);
