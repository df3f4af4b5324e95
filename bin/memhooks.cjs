#!/usr/bin/env node
'use strict';
// The `memhooks` command. It runs the CommonJS build so that the bin needs no loader flags.
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'cjs', 'src', 'cli', 'main.js');
// Only a missing build is "not built": a package that the build cannot find (an optional peer, say) is
// another failure, reported with its own message below.
if (!fs.existsSync(entry)) {
  console.error(`memhooks: the package is not built (${path.relative(process.cwd(), entry) || entry} is missing). Run \`npm run build\` in the package directory first.`);
  process.exit(1);
}
let cli;
try {
  cli = require(entry);
} catch (error) {
  const missing = error && error.code === 'MODULE_NOT_FOUND' && /Cannot find module '([^']+)'/.exec(String(error.message));
  if (missing && !missing[1].startsWith('.') && !path.isAbsolute(missing[1])) {
    // A dependency that is not installed: name it, and how to install it.
    console.error(`memhooks: the command line could not load the package ${missing[1]}, which is not installed. Install it (npm install ${missing[1]}) and run the command again.`);
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
