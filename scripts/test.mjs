#!/usr/bin/env node
// Runs the linter and the test suites (the Node suites, then the browser suite in headless Chromium) and ends with one
// line "N passed, N failed[, N skipped]" summed from vitest's own JSON reports (a lint failure adds one failure). Exits
// non-zero on any failure, on a crashed run, or when no test ran at all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The package tests exercise dist/ (what users install): build it from the current sources first.
const build = spawnSync(process.execPath, [join('scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed');
  console.error('The build failed, so the tests did not run.');
  process.exit(1);
}

// The public API of each entry point, from the declarations just built, against the reports committed in api/
// (`npm run api:check`; `npm run api:update` after a deliberate change): a difference counts as one failed test.
const api = spawnSync(process.execPath, [join('scripts', 'api-report.mjs')], { stdio: 'inherit' });
const apiFailed = api.status !== 0;

// The floors of src/ (`npm run depcheck`: .dependency-cruiser.cjs, docs/architecture.md): an upward or sideways
// import counts as one failed test in the closing line, like the linter below.
const depcheck = spawnSync('npm', ['run', '--silent', 'depcheck'], { stdio: 'inherit', shell: process.platform === 'win32' });
const depcheckFailed = depcheck.status !== 0;

// The linter (`npm run lint`: eslint.config.js, zero warnings allowed) runs before the tests. A lint failure counts
// as one failed test in the closing line; the tests still run, so one CI pass reports both.
const lint = spawnSync('npm', ['run', '--silent', 'lint'], { stdio: 'inherit', shell: process.platform === 'win32' });
const lintFailed = lint.status !== 0;

const dir = mkdtempSync(join(tmpdir(), 'memhooks-test-'));
const vitest = join('node_modules', 'vitest', 'vitest.mjs');
// Two vitest runs, each with its own JSON report: the Node suites, then the browser suite in headless Chromium
// (vitest.browser.config.ts, test/browser). Arguments given to `npm test` go to the Node run only.
const runs = [
  { name: 'node', args: process.argv.slice(2) },
  { name: 'browser', args: ['--config', 'vitest.browser.config.ts'] },
];

let passed = 0;
let failed = 0;
let skipped = 0;
let crashed = false;
for (const { name, args } of runs) {
  const report = join(dir, `vitest-${name}.json`);
  const run = spawnSync(
    process.execPath,
    [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { stdio: 'inherit' },
  );
  if (run.status !== 0) crashed = true;
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    passed += json.numPassedTests ?? 0;
    failed += json.numFailedTests ?? 0;
    skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
    // A test file that fails to load counts as a failure even when no test in it ran.
    failed += (json.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  } else {
    failed += 1;
    console.error(`vitest wrote no report for the ${name} run: it crashed before finishing.`);
  }
}
rmSync(dir, { recursive: true, force: true });
if (depcheckFailed) {
  failed += 1;
  console.error('The dependency check failed (npm run depcheck): an import crosses the floors of src/; see its report above.');
}
if (apiFailed) {
  failed += 1;
  console.error('The public API differs from its committed report (npm run api:check): see the diff above.');
}
if (lintFailed) {
  failed += 1;
  console.error('The linter failed (npm run lint): see its report above.');
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
const ok = !crashed && failed === 0 && passed > 0;
process.exit(ok ? 0 : 1);
