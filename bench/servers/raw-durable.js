#!/usr/bin/env node
'use strict';
// Reference server "raw-durable": reads each body, writes it to one file in
// DURABLE_DIR (temporary name, fsync, rename), then answers a crash id.
require('./reference').startInDirFromEnv('raw-durable', 'DURABLE_DIR', 'durableDir');
