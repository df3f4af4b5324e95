import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const consumer = resolve(here, '../fixtures/plugin-consumer');

/**
 * Type-checks test/fixtures/plugin-consumer as a user's strict project would: its plugin adds its name to
 * StrategyOptionsMap with `declare module 'memhooks'`, and app.ts marks every call that must not compile
 * with @ts-expect-error. A regression shows as an error in app.ts (an untyped callback, an unused
 * @ts-expect-error) or as an augmentation that does not reach the map.
 */
function consumerDiagnostics(experimentalDecorators: boolean): string[] {
  const program = ts.createProgram([resolve(consumer, 'plugin.ts'), resolve(consumer, 'app.ts')], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    typeRoots: [resolve(repo, 'node_modules/@types')],
    experimentalDecorators,
    emitDecoratorMetadata: experimentalDecorators,
    paths: { memhooks: [resolve(repo, 'src/index.ts')], 'memhooks/plugin': [resolve(repo, 'src/plugin.ts')] },
  });
  // Only the consumer's own files: the package's sources are type-checked by the project's tsc.
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName.startsWith(consumer))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${d.file!.fileName.slice(consumer.length + 1)}:${line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

describe('strategy options are typed by name (StrategyOptionsMap)', () => {
  it.each([true, false])('a strict consumer project compiles exactly as app.ts expects (experimentalDecorators: %s)', (experimental) => {
    expect(consumerDiagnostics(experimental)).toEqual([]);
  });
});
