/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Integration tests start real server processes from dist/: build once before the run.
  globalSetup: '<rootDir>/test/support/global-setup.js',
  // Removes the run's temporary directory, under which every test's temporary files went.
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // `npm run coverage`: children started with an explicit env report coverage too.
  setupFiles: ['<rootDir>/test/support/coverage-env.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
