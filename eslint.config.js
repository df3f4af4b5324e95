// ESLint for memhooks: a deliberately small rule set, each rule catching a real class of bug, none of them style
// noise. `npm run lint` runs it with --max-warnings 0, and scripts/test.mjs runs that before the tests, so CI
// fails on any hit.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// `_name` marks a binding kept on purpose (a positional parameter, a destructured rest sibling).
const unusedVars = [
  'error',
  {
    args: 'after-used',
    argsIgnorePattern: '^_',
    varsIgnorePattern: '^_',
    caughtErrorsIgnorePattern: '^_',
    destructuredArrayIgnorePattern: '^_',
    ignoreRestSiblings: true,
  },
];

export default defineConfig(
  // Build output, caches and generated reports: not ours to lint.
  globalIgnores(['dist/', 'coverage/', '.cache/', 'docs/api/', '**/.tmp-*/', 'temp/']),
  {
    // An eslint-disable comment that suppresses nothing is itself an error, so none go stale.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    // TypeScript: typed linting through tsconfig.json (src, test, bench, examples, vitest.config.ts).
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection: await it, or write `void` with a comment saying why.
      '@typescript-eslint/no-floating-promises': 'error',
      // An import used only as a type says so (`import type`, or `type` on the name), so it vanishes from the
      // emitted JS and cannot add a load-order cycle or a side effect. `typeof import('node:fs')` stays allowed:
      // it is vitest's idiom for typing a mocked module and never emits an import. The rule leaves files with
      // decorators alone, since emitDecoratorMetadata needs their imports as values.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': unusedVars,
    },
  },
  {
    // Plain JS (the build and test scripts, the CLI launcher, tool configs): not in any tsconfig, so untyped.
    files: ['**/*.{js,mjs,cjs}'],
    rules: { 'no-unused-vars': unusedVars },
  },
);
