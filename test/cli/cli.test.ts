import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** Runs the CLI in-process and captures what it writes. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('memhooks CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'memhooks-cli-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the hooks benchmark in smoke mode and writes its json and md', async () => {
    const { code, out, err } = await run('bench', 'hooks', '--smoke', '--backend', 'cpu', '--out', dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('[hooks]');
    const json = JSON.parse(await readFile(join(dir, 'hooks.cpu.json'), 'utf8'));
    expect(json.machine.backend).toBe('cpu');
    expect(json.run.smoke).toBe(true);
    expect(json.sections.map((s: { id: string }) => s.id)).toEqual(['dispatch', 'hooked-call', 'tracker', 'wrapped-model']);
    for (const s of json.sections.filter((s: { skipped?: string }) => s.skipped === undefined)) {
      expect(s.check.maxAbsDiff).toBe(0);
      expect(s.check.leakedTensors).toBe(0);
    }
    expect(await readFile(join(dir, 'hooks.cpu.md'), 'utf8')).toContain('| hooks | ns per call |');
  });

  it('rejects an unknown benchmark with exit code 2 and the valid names', async () => {
    const { code, err } = await run('bench', 'nope', '--smoke');
    expect(code).toBe(2);
    expect(err).toBe('memhooks: Unknown benchmark "nope". Valid benchmarks: hooks.\n');
  });

  it('rejects an unknown backend with exit code 2 and the valid backends', async () => {
    const { code, err } = await run('bench', '--smoke', '--backend', 'webgl');
    expect(code).toBe(2);
    expect(err).toBe('memhooks: Unknown backend "webgl". Valid backends: wasm, cpu.\n');
  });

  it('rejects a bad --runs and an unknown option with exit code 2, without a stack trace', async () => {
    const runs = await run('bench', '--smoke', '--runs', 'zero');
    expect(runs.code).toBe(2);
    expect(runs.err).toContain('--runs needs a positive integer, got "zero".');
    for (const odd of ['1e1', '0x2', '2.5', '0']) expect((await run('bench', '--smoke', '--runs', odd)).code).toBe(2);
    const option = await run('bench', '--fast');
    expect(option.code).toBe(2);
    expect(option.err).toContain("unknown option '--fast'");
    expect(option.err).not.toMatch(/\n\s+at /);
  });

  it('refuses an --out that is not a writable directory before running anything', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const { code, out, err } = await run('bench', '--smoke', '--out', file);
    expect(code).toBe(2);
    expect(err).toMatch(/^memhooks: --out .*a-file is not a writable directory/);
    expect(out).not.toContain('[hooks]');
  });

  it('prints help with exit code 0', async () => {
    const { code, out } = await run('bench', '--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage: memhooks bench [options] [names...]');
    expect(out).toContain('hooks');
  });
});
