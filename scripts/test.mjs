#!/usr/bin/env node
// Runs the test suite and ends with one line "N passed, N failed[, N skipped]" computed from vitest's
// own JSON report. Exits non-zero on any failure, on a crashed run, or when no test ran at all.
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

const dir = mkdtempSync(join(tmpdir(), 'memhooks-test-'));
const report = join(dir, 'vitest.json');
const vitest = join('node_modules', 'vitest', 'vitest.mjs');
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const json = JSON.parse(readFileSync(report, 'utf8'));
  passed = json.numPassedTests ?? 0;
  failed = json.numFailedTests ?? 0;
  skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  // A test file that fails to load counts as a failure even when no test in it ran.
  failed += (json.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
} else {
  failed = 1;
  console.error('vitest wrote no report: the run crashed before finishing.');
}
rmSync(dir, { recursive: true, force: true });

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
const ok = run.status === 0 && failed === 0 && passed > 0;
process.exit(ok ? 0 : 1);
