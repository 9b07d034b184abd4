#!/usr/bin/env node
'use strict';
// Reference server "raw-sha": reads each body, runs it through sha256 as it
// arrives, answers a crash id, keeps nothing. The floor of any collector's
// CPU per crash: reading the socket and the checksum SPEC requires.
require('./reference').start({ checksum: true });
