#!/usr/bin/env node
'use strict';
// Reference server "raw": reads each body, answers a crash id, keeps nothing.
require('./reference').start();
