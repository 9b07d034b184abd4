// Integration tests run the real server (`node dist/main.js`): compile once per test run.
const { mkdtempSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { build } = require('../../scripts/build');

module.exports = async function globalSetup() {
  // Every temporary directory of this run (the tests', and the servers' they
  // start) goes under one directory that global-teardown.js removes: the
  // workers and their children inherit TMPDIR, and os.tmpdir() reads it. One
  // per run, so two runs side by side never remove each other's files. Made
  // after the build: jest runs no teardown when the setup throws (a build
  // that does not compile), and the directory would be left behind.
  if (process.env.ANTENNA_SKIP_BUILD !== '1') build(); // skipped by unit-test runs during development
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'antenna-jest-'));
  process.env.ANTENNA_TEST_RUN_DIR = runDir;
  process.env.TMPDIR = runDir;
};
