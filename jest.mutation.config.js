// Jest config for mutation testing (npm run mutation): only the unit tests that import
// the mutated modules from src/. Integration tests run dist/ in child processes, so
// they never see a mutant and would only make every run slower.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: undefined, // no dist build: unit tests import src/ directly
  roots: ['<rootDir>/test/worker', '<rootDir>/test/shared', '<rootDir>/test/primary'],
  testMatch: ['**/*.test.ts'],
  // Its asyncStdout cases run dist/shared/logging.js in a child process (a pipe as
  // stdout), which this config does not build: they see no mutant and would fail.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/shared/logging.test.ts'],
  maxWorkers: 1,
};
