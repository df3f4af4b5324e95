import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { container, memory } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { docPages, exampleFiles, normalized, tsBlocks, type CodeBlock } from './docsBlocks.js';

const examples = exampleFiles();

/**
 * The README's quick start is examples/quickstart.ts as a script (the README says so): test/examples/quickstart.test.ts
 * runs that file at sizes that keep cpu fast, so it is the one block not quoted from examples/docs.
 */
const isReadmeQuickStart = (b: CodeBlock): boolean => b.page === 'README.md' && b.text.includes("loadPretrained('upscaler-esrgan-2x')");

describe('the docs quote their examples', () => {
  const blocks = docPages().flatMap(tsBlocks);

  it.each(docPages())('every TypeScript block of %s is a quoted examples/docs file, word for word', (page) => {
    for (const block of tsBlocks(page).filter((b) => !isReadmeQuickStart(b))) {
      const where = `${block.page}:${block.line}`;
      expect(block.example, `${where}: a \`\`\`ts block needs the line <!-- example: examples/docs/<file>.ts --> before it`).toBeDefined();
      expect(examples, `${where} quotes ${block.example}, which is not an examples/docs/*.ts file`).toContain(block.example);
      expect(normalized(block.text), `${where} differs from ${block.example}`).toBe(normalized(readFileSync(block.example!, 'utf8')));
    }
  });

  it('every examples/docs file is quoted by a page', () => {
    const quoted = new Set(blocks.map((b) => b.example));
    expect(examples.filter((f) => !quoted.has(f))).toEqual([]);
  });
});

/**
 * Each example runs as a user's program: it imports 'memhooks' (the source, by the vitest alias), picks the
 * backend from MEMHOOKS_BACKEND, and must leave no tensor behind. Each run gets a fresh copy of memhooks and
 * an empty root container, as a new process would: examples declare @module classes of the same names.
 */
describe.each(BACKENDS)('the docs examples on %s', (backend) => {
  afterEach(() => {
    memory.setDeviceBudget(undefined);
    vi.restoreAllMocks();
    delete process.env.MEMHOOKS_BACKEND;
  });

  it.each(examples)('%s runs and leaks no tensor', async (file) => {
    await useBackend(backend);
    await expectNoLeaks(async () => {
      process.env.MEMHOOKS_BACKEND = backend;
      vi.spyOn(console, 'log').mockImplementation(() => {});
      container.reset();
      vi.resetModules();
      await import(pathToFileURL(resolve(file)).href);
    });
  });
});
