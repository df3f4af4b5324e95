#!/usr/bin/env node
// Builds dist/esm (NodeNext) and dist/cjs (CommonJS) with type declarations, from src/; then the benchmarks
// (bench/*.ts) as a separate entry point beside them, which the CLI loads at run time (src/cli/benchSuite.ts).
// Layout (rootDir '.'): dist/esm/src/index.js, dist/cjs/src/index.js, dist/*/bench/*.js.
// The two formats are independent, so each step builds them in parallel.
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function tsc(project) {
  const bin = require.resolve('typescript/bin/tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-p', project], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`tsc -p ${project} failed (${signal ?? `exit code ${code}`}).`)),
    );
  });
}

const started = Date.now();
await rm(join(root, 'dist'), { recursive: true, force: true });
try {
  await Promise.all([tsc('tsconfig.build.json'), tsc('tsconfig.cjs.json')]);
  // After the library: the bench build emits the library files it imports again (identical output), and
  // two compilers must not write one file at once.
  await Promise.all([tsc('tsconfig.bench.json'), tsc('tsconfig.bench.cjs.json')]);
} catch (error) {
  console.error(`memhooks build: ${error.message}`);
  process.exit(1);
}
// The package is "type": "module"; this marks the CommonJS tree as CommonJS for Node's loader.
await mkdir(join(root, 'dist/cjs'), { recursive: true });
await writeFile(join(root, 'dist/cjs/package.json'), '{\n  "type": "commonjs"\n}\n');
console.log(`memhooks build: dist/esm and dist/cjs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
