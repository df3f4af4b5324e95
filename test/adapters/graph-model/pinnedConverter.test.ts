import { readFileSync } from 'node:fs';
import { version_converter } from '@tensorflow/tfjs-converter';
import { describe, expect, it } from 'vitest';
import { PINNED_CONVERTER_VERSION } from '../../../src/adapters/graph-model/executorInternals.js';

// wrapGraphModel reaches tfjs-converter's GraphExecutor internals (executorInternals.ts), which are not public API:
// they are checked against one exact version, and a different one installed must be a deliberate upgrade.
describe('the tfjs-converter whose internals wrapGraphModel reaches', () => {
  it('is the pinned version, installed and in devDependencies', () => {
    expect(version_converter).toBe(PINNED_CONVERTER_VERSION);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies['@tensorflow/tfjs-converter']).toBe(PINNED_CONVERTER_VERSION);
  });
});
