// Integration tests run the real server (`node dist/main.js`): compile once per test run.
const { build } = require('../../scripts/build');

module.exports = async function globalSetup() {
  if (process.env.ANTENNA_SKIP_BUILD === '1') return; // unit-test runs during development
  build();
};
