import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { container } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

/**
 * docs/plugins.md quotes these programs with the output they print as comments. Each is run as a user's
 * program (a fresh copy of memhooks, an empty root container) and must print exactly the lines it shows.
 */
const PROGRAMS = ['examples/docs/plugins-using.ts', 'examples/docs/plugins-coverage.ts', 'examples/docs/plugins-testing.ts'];

/** The output a program documents: its `console.log(…) // shown` comments, or the `// ` lines after its loop. */
function documentedOutput(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const inline = lines.filter((l) => /console\.log\(.*\); \/\/ /.test(l)).map((l) => l.slice(l.indexOf('); // ') + 6));
  const loop = lines.findIndex((l) => l.startsWith('for (') && l.includes('console.log'));
  const after: string[] = [];
  for (let i = loop + 1; loop >= 0 && lines[i]?.startsWith('// '); i++) after.push(lines[i]!.slice(3));
  return [...inline, ...after];
}

describe.each(BACKENDS)('the plugin page prints what it shows, on %s', (backend) => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env.MEMHOOKS_BACKEND;
  });

  it.each(PROGRAMS)('%s', async (file) => {
    await useBackend(backend);
    process.env.MEMHOOKS_BACKEND = backend;
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    container.reset();
    vi.resetModules();
    await import(pathToFileURL(resolve(file)).href);
    const shown = documentedOutput(file);
    expect(shown.length).toBeGreaterThan(0);
    expect(printed).toEqual(shown);
  });
});
