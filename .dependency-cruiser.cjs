// The floors of src/ (docs/architecture.md), enforced: a folder imports only from the floors below it.
// Type-only imports count (tsPreCompilationDeps), and there are no exceptions: when two folders need each
// other, the piece they share moves down a floor. `npm run depcheck` runs this; scripts/test.mjs runs it
// before vitest, so CI fails on an upward or sideways import.

/** Bottom to top. Keep in step with the table in docs/architecture.md. */
const FLOORS = [
  'base',
  'dtypes',
  'runtime',
  'io',
  'models',
  'hooks',
  'strategies',
  'adapters',
  'loading',
  'pipelines',
  'diagnostics',
  'planner',
  'zoo',
  'cli',
];

/** The strategy folders: each may use strategies' root files and strategies/shared, never a sibling. */
const STRATEGY_FOLDERS = [
  'attention',
  'cpu-offload',
  'device-map',
  'group-offloading',
  'layerwise-casting',
  'slicing',
  'tiling',
];

const anyOf = (names) => `(${names.join('|')})`;

const { builtinModules } = require('node:module');

// One rule per floor: its folder must not import any folder of a higher floor.
const upward = FLOORS.slice(0, -1).map((floor, index) => ({
  name: `floor-${index}-${floor}-imports-upward`,
  comment: `src/${floor}/ (floor ${index}) may import only floors below it; ${FLOORS.slice(index + 1).join(', ')} are above.`,
  severity: 'error',
  from: { path: `^src/${floor}/` },
  to: { path: `^src/${anyOf(FLOORS.slice(index + 1))}/` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'floor-imports-an-entry-file',
      comment: 'The entry files at the root of src/ (index.ts, plugin.ts, zoo.ts) sit above every floor.',
      severity: 'error',
      from: { path: `^src/${anyOf(FLOORS)}/` },
      to: { path: '^src/[^/]+$' },
    },
    {
      name: 'strategy-imports-a-sibling-strategy',
      comment:
        'A strategy folder imports strategies/*.ts, strategies/shared/ and lower floors, never another strategy folder: ' +
        'what two strategies share belongs in strategies/shared/.',
      severity: 'error',
      from: { path: `^src/strategies/(${STRATEGY_FOLDERS.join('|')})/` },
      to: {
        path: `^src/strategies/${anyOf(STRATEGY_FOLDERS)}/`,
        pathNot: '^src/strategies/$1/',
      },
    },
    {
      name: 'strategies-base-imports-a-strategy',
      comment:
        "strategies/*.ts and strategies/shared/ are the strategies' own base: they never import a strategy folder " +
        '(each strategy adds its own StrategyOptionsMap entry by declaration merging).',
      severity: 'error',
      from: { path: '^src/strategies/(shared/|[^/]+$)' },
      to: { path: `^src/strategies/${anyOf(STRATEGY_FOLDERS)}/` },
    },
    {
      name: 'node-builtin-outside-the-node-platform',
      comment:
        'Node built-ins (node:fs, worker_threads, …) are imported only by the Node platform (src/base/platform/node.ts) and the ' +
        'command line (src/cli/): everything else reaches the host through the platform seam, so the browser build holds none.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli/|base/platform/node\\.ts$)' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'browser-entry-reaches-the-node-platform',
      comment:
        "The browser entries (src/browser*.ts, the package's `browser` condition) register the browser platform: nothing they " +
        'import, directly or not, may reach the Node platform or the command line.',
      severity: 'error',
      from: { path: '^src/browser[^/]*\\.ts$' },
      to: { path: '^src/(base/platform/(node|useNode)\\.ts$|cli/|node[^/]*\\.ts$)', reachable: true },
    },
    {
      name: 'library-imports-outside-src',
      comment: 'The library is src/ alone: the benchmarks (bench/) are a separate entry point that the CLI loads at run time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(bench|test|examples|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Node built-ins stay in the graph for the rule on them (as 'node:x' or bare 'x'); packages do not.
    includeOnly: `^((src|bench|test|examples|scripts)/|node:|${anyOf(builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')))}$)`,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
  },
};
