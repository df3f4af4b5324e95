#!/usr/bin/env node
'use strict';
// The `memhooks` command. It runs the CommonJS build so that the bin needs no loader flags.
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'cjs', 'src', 'cli', 'main.js');
let cli;
try {
  cli = require(entry);
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(entry)) {
    console.error('memhooks: the package is not built (dist/ is missing). Run `npm run build` in the package directory first.');
    process.exit(1);
  }
  throw error;
}
cli.main(process.argv.slice(2), undefined, { version: require('../package.json').version }).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exitCode = 1;
  },
);
