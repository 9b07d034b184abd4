// Removes the run's temporary directory (see global-setup.js) once every test file is done.
const { rmSync } = require('node:fs');

module.exports = async function globalTeardown() {
  const runDir = process.env.ANTENNA_TEST_RUN_DIR;
  if (runDir) rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
};
