#!/usr/bin/env node
'use strict';
// Reference server "raw-layout": reads each body and saves it in fs storage's
// layout under LAYOUT_DIR (dump, dump_names, raw crash last; every file and
// directory fsynced), then answers a crash id. What fs storage's layout costs
// without the collector's parsing.
require('./reference').startInDirFromEnv('raw-layout', 'LAYOUT_DIR', 'layoutDir');
