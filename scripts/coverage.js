#!/usr/bin/env node
// `npm run coverage [-- <jest args>]`: the whole test suite (`npm test`) with
// coverage of src/, including the server and tool processes the integration
// tests start from dist/, then a per-module table (scripts/coverage-table.js).
// Exits with the test run's status; a report that cannot be built is printed
// as such but does not change it.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { report } = require('./coverage-table');

const ROOT = path.resolve(__dirname, '..');
const dir = path.join(ROOT, 'coverage');

async function main() {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'v8'), { recursive: true });
  const jestArgs = [
    '--coverage',
    '--coverageProvider=v8',
    '--coverageReporters=json',
    `--coverageDirectory=${path.join(dir, 'jest')}`,
    '--collectCoverageFrom=src/**/*.ts',
    ...process.argv.slice(2),
  ];
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // Every process of the run inherits NODE_V8_COVERAGE; children the tests
  // start with an explicit env get it from test/support/coverage-env.js.
  const run = spawnSync(npm, ['test', '--', ...jestArgs], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, NODE_V8_COVERAGE: path.join(dir, 'v8') },
  });
  const status = run.status ?? 1;
  try {
    await report(dir);
    // The raw dumps (~400 MB for the whole suite: each process's V8 coverage
    // includes its cloud SDKs) are all in coverage-final.json now.
    fs.rmSync(path.join(dir, 'v8'), { recursive: true, force: true });
  } catch (err) {
    console.log(`coverage: could not build the report: ${err.message}`);
  }
  return status;
}

main().then((status) => process.exit(status));
