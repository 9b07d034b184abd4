import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config';
import { createThrottler } from '../../../src/worker/throttler';
import { loadRulesFile } from '../../../src/worker/throttler/load-rules';

const dir = mkdtempSync(path.join(os.tmpdir(), 'antenna-rules-'));
function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('rules files', () => {
  it('a JSON file of declarative rules drives the throttler', () => {
    const p = file('rules.json', {
      rules: [
        { name: 'nightly', key: 'ReleaseChannel', startsWith: 'nightly', result: 'ACCEPT' },
        { name: 'betas', key: 'ReleaseChannel', in: ['beta', 'aurora'], result: 'DEFER' },
        { name: 'fx_release', key: 'ProductName', equals: 'Firefox', result: [10, 'ACCEPT', 'REJECT'] },
        { name: 'versions', key: 'Version', matches: '^1\\d\\.', result: 'FAKEACCEPT' },
        { name: 'everything_else', key: '*', result: 'ACCEPT' },
      ],
    });
    const config = loadConfig({ BREAKPAD_THROTTLER_RULES: p });
    const t = createThrottler(config.throttler, { random: () => 0.5 });
    expect(t.throttle({ ReleaseChannel: 'nightly-try' })).toEqual({ result: 'ACCEPT', ruleName: 'nightly', percentage: 100 });
    expect(t.throttle({ ReleaseChannel: 'beta' }).result).toBe('DEFER');
    expect(t.throttle({ ProductName: 'Firefox' })).toEqual({ result: 'REJECT', ruleName: 'fx_release', percentage: 10 });
    expect(t.throttle({ Version: '12.0' }).result).toBe('FAKEACCEPT');
    expect(t.throttle({ Version: '2.0' }).ruleName).toBe('everything_else');
  });

  it('a JS module may export rules with condition functions and see the product list', () => {
    const p = file(
      'rules.js',
      `module.exports = { rules: [
        { name: 'big_memory', key: '*', condition: (crash) => Number(crash.TotalPhysicalMemory) > 1e9, result: 'DEFER' },
        { name: 'known', key: 'ProductName', condition: (name, ctx) => ctx.products.includes(name), result: 'ACCEPT' },
      ] };`,
    );
    const config = loadConfig({ BREAKPAD_THROTTLER_RULES: p, BREAKPAD_THROTTLER_PRODUCTS: 'Acme,Zed' });
    const t = createThrottler(config.throttler);
    expect(t.throttle({ TotalPhysicalMemory: '8000000000' }).result).toBe('DEFER');
    expect(t.throttle({ ProductName: 'Zed' }).ruleName).toBe('known');
    expect(t.throttle({ ProductName: 'Other' })).toEqual({ result: 'REJECT', ruleName: 'NO_MATCH', percentage: 0 });
  });

  it.each([
    ['a missing file', () => path.join(dir, 'nope.json'), /BREAKPAD_THROTTLER_RULES=.*nope\.json: file .* not found/],
    ['invalid JSON', () => file('bad.json', '{"rules": ['), /cannot load .*bad\.json/],
    ['not a list', () => file('obj.json', { rule: [] }), /expected a list of rules/],
    ['an empty list', () => file('empty.json', []), /rule list is empty/],
    ['a bad rule name', () => file('name.json', [{ name: 'has space', key: '*', result: 'ACCEPT' }]), /rule #1 \(has space\): name "has space" is invalid/],
    [
      'a bad result',
      () => file('result.json', [{ name: 'a', key: '*', result: 'KEEP' }]),
      /rule #1 \(a\): result "KEEP" is invalid: expected one of ACCEPT, DEFER, REJECT, FAKEACCEPT/,
    ],
    ['a bad percentage', () => file('pct.json', [{ name: 'a', key: '*', result: [120, 'ACCEPT', 'REJECT'] }]), /sampling percent 120 is invalid/],
    ['two conditions', () => file('two.json', [{ name: 'a', key: 'K', equals: 'x', in: ['y'], result: 'ACCEPT' }]), /at most one of equals, in/],
    ['a condition on *', () => file('star.json', [{ name: 'a', key: '*', equals: 'x', result: 'ACCEPT' }]), /needs a key other than "\*"/],
    ['a bad regex', () => file('re.json', [{ name: 'a', key: 'K', matches: '(', result: 'ACCEPT' }]), /matches is not a valid regular expression/],
    [
      'a duplicate name',
      () =>
        file('dup.json', [
          { name: 'a', key: '*', result: 'ACCEPT' },
          { name: 'a', key: '*', result: 'REJECT' },
        ]),
      /rule #2 \(a\): the name a is used twice/,
    ],
    ['a missing key', () => file('key.json', [{ name: 'a', result: 'ACCEPT' }]), /key must be an annotation name/],
    ['a throwing module', () => file('throws.js', 'throw new Error("boom")'), /cannot load .*throws\.js: boom/],
  ])('%s stops start-up with a clear error', (_what, make, message) => {
    const p = make();
    expect(() => loadRulesFile(p)).toThrow(message);
  });

  it('an unknown rule set name is a configuration error naming the variable', () => {
    expect(() => loadConfig({ BREAKPAD_THROTTLER_RULES: 'mozzilla' })).toThrow(/BREAKPAD_THROTTLER_RULES="mozzilla" is invalid/);
  });

  it('Antenna rule paths are aliases', () => {
    expect(loadConfig({ BREAKPAD_THROTTLER_RULES: 'antenna.throttler.MOZILLA_RULES' }).throttler.rules).toEqual({ kind: 'builtin', name: 'mozilla' });
  });
});
