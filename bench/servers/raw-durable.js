#!/usr/bin/env node
'use strict';
// Reference server "raw-durable": reads each body, writes it to one file in
// DURABLE_DIR (temporary name, fsync, rename), then answers a crash id.
const dir = process.env.DURABLE_DIR;
if (!dir) {
  process.stderr.write('raw-durable: set DURABLE_DIR to an existing directory\n');
  process.exit(2);
}
require('./reference').start({ durableDir: dir });
