#!/usr/bin/env node
// `npm start` on a fresh clone: compile src/ to dist/ when dist/ is missing or older than any source file.
const { build } = require('./build');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist', 'main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const required = require('../package.json').engines.node.replace(/[^0-9.]/g, '');
if (Number(process.versions.node.split('.')[0]) < Number(required.split('.')[0])) {
  console.error(`antenna needs Node.js ${required} or later (its Google Cloud and AWS libraries do); this is ${process.version}. See .nvmrc.`);
}

const built = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
if (built < newestSource(path.join(root, 'src'))) {
  console.error('Building antenna (src/ → dist/)…');
  build();
  fs.utimesSync(entry, new Date(), new Date());
}
