#!/usr/bin/env node
// Compiles src/ to dist/ from scratch: a stale file left in dist/ (e.g. a
// module that became a directory) would otherwise shadow the new one.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function build() {
  const root = path.resolve(__dirname, '..');
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    console.error('Cannot build: TypeScript is not installed. Run `npm install` (with dev dependencies) first.');
    process.exit(1);
  }
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
}

module.exports = { build };
if (require.main === module) build();
