#!/usr/bin/env node
// The public API of each entry point ('memhooks', 'memhooks/plugin', 'memhooks/zoo') as @microsoft/api-extractor
// reports it from the built declarations (dist/esm/src/*.d.ts, stripInternal on), compared with the reports
// committed in api/. Without arguments it checks: a surface that differs from its committed report fails, with
// the difference printed, so a change of the public API is always a deliberate, reviewed change.
// `--update` (npm run api:update, which builds first) rewrites the reports instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');
const ENTRIES = [
  { report: 'memhooks', dts: 'index' },
  { report: 'plugin', dts: 'plugin' },
  { report: 'zoo', dts: 'zoo' },
];

// Where api-extractor writes the report it computed: compared there, never left in the repository.
const scratch = mkdtempSync(join(tmpdir(), 'memhooks-api-'));
let failed = 0;
try {
  for (const { report, dts } of ENTRIES) {
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: root,
        mainEntryPointFilePath: join(root, 'dist', 'esm', 'src', `${dts}.d.ts`),
        bundledPackages: [],
        compiler: {
          // What a consumer compiles with; the repository's tsconfig would pull in the sources and tests.
          overrideTsconfig: {
            compilerOptions: {
              target: 'ES2022',
              module: 'NodeNext',
              moduleResolution: 'NodeNext',
              lib: ['ES2022', 'DOM', 'ESNext.Disposable'],
              types: ['node'],
              strict: true,
              skipLibCheck: true,
            },
            files: [join(root, 'dist', 'esm', 'src', `${dts}.d.ts`)],
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: `${report}.api.md`,
          reportFolder: join(root, 'api'),
          reportTempFolder: scratch,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: 'warning' } },
          extractorMessageReporting: {
            // Findings about the declarations go into the report, where review sees them, instead of the console.
            default: { logLevel: 'none', addToApiReportFile: true },
            // memhooks has no alpha/beta/public release tags: everything exported is public.
            'ae-missing-release-tag': { logLevel: 'none' },
            // A type that a public signature uses but no entry exports is listed in the report (so it shows in review).
            'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: true },
            // Doc comments are reviewed in the sources, not counted here.
            'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
          },
          tsdocMessageReporting: { default: { logLevel: 'none' } },
        },
      },
      configObjectFullPath: join(root, 'api', `${report}.api-extractor.json`),
      packageJsonFullPath: join(root, 'package.json'),
    });
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
    const entry = report === 'memhooks' ? "'memhooks'" : `'memhooks/${report}'`;
    if (result.succeeded) {
      console.log(`api: ${entry} ${update && result.apiReportChanged ? 'report updated' : 'matches'} api/${report}.api.md`);
    } else {
      failed++;
      // What changed, as a unified diff of the committed report against the computed one (where `diff` exists).
      if (result.apiReportChanged) spawnSync('diff', ['-u', join(root, 'api', `${report}.api.md`), join(scratch, `${report}.api.md`)], { stdio: 'inherit' });
      console.error(
        result.apiReportChanged
          ? `api: the public API of ${entry} differs from api/${report}.api.md (see above). If the change is deliberate, run \`npm run api:update\` and commit the report.`
          : `api: api-extractor reported ${result.errorCount} error(s) and ${result.warningCount} warning(s) for ${entry} (see above).`,
      );
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);
