import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { tempDir } from '../support/server';

const ROOT = path.resolve(__dirname, '..', '..');

// test/support/coverage-env.js runs as a jest setup file; it is exercised in a
// child node so that this jest worker's child_process stays untouched.
function underSetup(script: string, coverageDir?: string): string {
  // Set either way, so that running this test under npm run coverage does not change what it sees.
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', NODE_V8_COVERAGE: coverageDir ?? '' };
  const code = `require(${JSON.stringify(path.join(ROOT, 'test', 'support', 'coverage-env.js'))}); ${script}`;
  return execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8' });
}

const printChildEnv = `
  const cp = require('node:child_process');
  const { promisify } = require('node:util');
  const probe = [process.execPath, ['-p', 'process.env.NODE_V8_COVERAGE + " " + process.env.KEEP']];
  const env = { PATH: process.env.PATH, KEEP: 'kept' };
  (async () => {
    const lines = [
      cp.execFileSync(...probe, { env, encoding: 'utf8' }).trim(),
      cp.spawnSync(...probe, { env, encoding: 'utf8' }).stdout.trim(),
      (await promisify(cp.execFile)(...probe, { env })).stdout.trim(),
    ];
    console.log(lines.join('|'));
  })();
`;

describe('coverage-env (jest setup file of npm run coverage)', () => {
  it('under coverage, adds NODE_V8_COVERAGE to children started with an explicit env and keeps the rest of it', () => {
    const dir = tempDir('antenna-coverage-env-');
    expect(underSetup(printChildEnv, dir).trim()).toBe([`${dir} kept`, `${dir} kept`, `${dir} kept`].join('|'));
  });

  it('does nothing outside a coverage run', () => {
    expect(underSetup(printChildEnv).trim()).toBe(['undefined kept', 'undefined kept', 'undefined kept'].join('|'));
  });
});
