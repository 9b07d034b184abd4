// Jest setup file. Under `npm run coverage` every process inherits
// NODE_V8_COVERAGE, except children a test starts with an explicit `env`
// (spawnServer, the tool runners): this adds it to those, so the report also
// counts what the server and the tools run. Without NODE_V8_COVERAGE it does nothing.
const childProcess = require('node:child_process');
const { promisify } = require('node:util');

const dir = process.env.NODE_V8_COVERAGE;
const marker = Symbol.for('antenna.coverage-env');

function withCoverageEnv(fn, custom = true) {
  const wrapped = function (...args) {
    // The options object is the first plain object after the command (args arrays and callbacks skipped).
    const i = args.findIndex((a, n) => n > 0 && a !== null && typeof a === 'object' && !Array.isArray(a));
    if (i > 0 && args[i].env && args[i].env.NODE_V8_COVERAGE === undefined) {
      args[i] = { ...args[i], env: { ...args[i].env, NODE_V8_COVERAGE: dir } };
    }
    return fn.apply(this, args);
  };
  wrapped[marker] = true;
  // promisify(execFile) resolves { stdout, stderr } through this custom form.
  if (custom && fn[promisify.custom]) wrapped[promisify.custom] = withCoverageEnv(fn[promisify.custom], false);
  return wrapped;
}

if (dir && !childProcess.spawn[marker]) {
  for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
    childProcess[name] = withCoverageEnv(childProcess[name]);
  }
}
