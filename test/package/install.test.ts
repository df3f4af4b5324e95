import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a user gets: the packed tarball, installed into an empty app with exactly the README's Install line
 * (so without the optional peers, tfjs-layers among them). One install serves every case below.
 * Needs dist/ (`npm test` builds it first) and the npm registry (the tfjs packages; the cache is preferred).
 */
const root = join(import.meta.dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-install-'));
const app = join(scratch, 'app');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(command: string, args: string[], cwd = app): Run {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, MEMHOOKS_CACHE: join(scratch, 'cache') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The bin as npm linked it into the app, run the way `npx memhooks` runs it. */
function memhooks(...args: string[]): Run {
  return run(process.execPath, [join(app, 'node_modules', 'memhooks', 'bin', 'memhooks.cjs'), ...args]);
}

/** The README's Install line: the first `npm install memhooks …` line of its "## Install" section. */
function readmeInstallArgs(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Install'));
  const line = section.split('\n').find((l) => l.trim().startsWith('npm install memhooks'));
  if (line === undefined) throw new Error('README.md has no "npm install memhooks …" line in its Install section.');
  return line.trim().split(/\s+/).slice(2);
}

/** A one-tensor safetensors file (header length, JSON header, float32 data), written without memhooks. */
function writeSafetensors(file: string, values: number): void {
  const data = Buffer.alloc(values * 4);
  for (let i = 0; i < values; i++) data.writeFloatLE(i / 7, i * 4);
  const header = Buffer.from(JSON.stringify({ a: { dtype: 'F32', shape: [values / 2, 2], data_offsets: [0, data.length] }, b: { dtype: 'F32', shape: [values], data_offsets: [data.length, 2 * data.length] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(file, Buffer.concat([length, header, data, data]));
}

/** A package's own CLI (its package.json "bin"), run with this Node. */
function devTool(pkg: string, args: string[]): Run {
  const dir = join(root, 'node_modules', ...pkg.split('/'));
  const { bin } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return run(process.execPath, [join(dir, Object.values(bin)[0]!), ...args], root);
}

let install: Run;
let tarball: string;
beforeAll(() => {
  const packed = join(scratch, 'pack');
  mkdirSync(packed);
  mkdirSync(app);
  // dist/ is already built: pack it as it is, without prepack's rebuild.
  execFileSync(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', packed], { cwd: root, stdio: 'pipe' });
  tarball = join(packed, readdirSync(packed).find((f) => f.endsWith('.tgz'))!);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'empty-app', version: '1.0.0', private: true }, null, 2));
  const args = readmeInstallArgs().map((a) => (a === 'memhooks' ? tarball : a));
  install = run(npm, ['install', ...args, '--prefer-offline', '--no-audit', '--no-fund']);
}, 300_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed package, installed with the README Install line into an empty app', () => {
  it('installs without the optional peers, and npm warns about no script the tarball lacks', () => {
    expect(install.err + install.out).not.toMatch(/npm (ERR|error)/);
    expect(install.code).toBe(0);
    expect(existsSync(join(app, 'node_modules', '@tensorflow', 'tfjs-layers'))).toBe(false);
    expect(install.err).not.toMatch(/prepare|scripts\/build\.mjs/);
  });

  it('loads the library from require and import', () => {
    const names = (src: string, esm: boolean): number =>
      Number(run(process.execPath, [...(esm ? ['--input-type=module'] : []), '-e', src]).out.trim());
    expect(names(`console.log(Object.keys(require('memhooks')).length)`, false)).toBeGreaterThan(50);
    expect(names(`const m = await import('memhooks'); console.log(Object.keys(m).length)`, true)).toBeGreaterThan(50);
  });

  it('prints --help', () => {
    const r = memhooks('--help');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: memhooks');
    expect(r.out).not.toContain('not built');
  });

  it('re-shards a checkpoint', () => {
    writeSafetensors(join(app, 'model.safetensors'), 2048);
    const r = memhooks('shard', 'model.safetensors', 'sharded', '--max-shard-size', '10KB');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 tensors, .* → 2 file\(s\) in sharded with model\.safetensors\.index\.json/);
  });

  it('runs the main benchmark on the zoo, and reports the upscaler section skipped for want of tfjs-layers', () => {
    const r = memhooks('bench', '--smoke');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('[strategies]');
    expect(r.out).toMatch(/^\| group leaf \+ stream \|/m);
    expect(r.out).toMatch(/Skipped: .*needs the package @tensorflow\/tfjs-layers .*npm install @tensorflow\/tfjs-layers/);
  }, 300_000);

  it('says which package a benchmark needs, and why, and exits 1', () => {
    const r = memhooks('bench', 'layers', '--smoke');
    expect(r.code).toBe(1);
    expect(r.out).not.toContain('[layers]');
    expect(r.err).toMatch(/^memhooks: The layers benchmark needs the package @tensorflow\/tfjs-layers \(an optional peer of memhooks\), which is not installed\. Install it: npm install @tensorflow\/tfjs-layers@/);
  });

  it('type-checks a strict consumer of every entry point against the shipped declarations, ESM and CommonJS, without skipLibCheck', () => {
    // A user, a plugin author and a zoo user in one program; each @ts-expect-error line must be an error (what
    // the entry points keep to themselves), every other line must compile.
    const consumer = [
      `import * as tf from '@tensorflow/tfjs-core';`,
      `import { applyStrategy, Attention, HookRegistry, memory, Module, wrapLayersModel, type TfjsLayersModel } from 'memhooks';`,
      `import { assertDeviceBudget, ModelHook, Strategy, strategy, type Undo } from 'memhooks/plugin';`,
      `import { JointAttention, loadPretrained } from 'memhooks/zoo';`,
      `// @ts-expect-error: codec internals are no part of the root entry.`,
      `import { decodeBits } from 'memhooks';`,
      `// @ts-expect-error: the zoo is its own entry point.`,
      `import { DiffusionPipeline } from 'memhooks';`,
      `interface CountOptions { onCount: (n: number) => void }`,
      `declare module 'memhooks' { interface StrategyOptionsMap { 'consumer-count': CountOptions } }`,
      `class Count extends Strategy<CountOptions> {`,
      `  override apply(root: Module, options: CountOptions): Undo {`,
      `    options.onCount(root.parameters().length);`,
      `    assertDeviceBudget(0, 'nothing');`,
      `    return { remove: () => {} };`,
      `  }`,
      `}`,
      `export async function use(): Promise<Module> {`,
      `  strategy('consumer-count')(Count); // @strategy, called as a function (no decorator compiler option needed)`,
      `  const attention: Attention = new JointAttention(8, { heads: 2, dimHead: 4 });`,
      `  const [x, context] = new JointAttention(8, { heads: 2, dimHead: 4 }).forward(tf.zeros([1, 2, 8]), tf.zeros([1, 3, 8]));`,
      `  const model: TfjsLayersModel = await loadPretrained('upscaler-esrgan-2x');`,
      `  tf.dispose([x!, context!]);`,
      `  const root = wrapLayersModel(model);`,
      `  applyStrategy(root, 'consumer-count', { onCount: (n) => n.toFixed(0) });`,
      `  // @ts-expect-error: a misspelt option of the plugin's own name (the augmentation reached the map).`,
      `  applyStrategy(root, 'consumer-count', { onCount: () => {}, extra: 1 });`,
      `  // @ts-expect-error: a built-in's options are typed by its name too (each strategy adds its own map entry).`,
      `  applyStrategy(root, 'tiling', { tileSize: 64, tileOverlapp: 0.5 });`,
      `  HookRegistry.checkIfExistsOrInitialize(root).registerHook(new (class extends ModelHook {})(), 'h');`,
      `  // @ts-expect-error: @internal members are stripped from the declarations.`,
      `  HookRegistry.get(root)!.entries;`,
      `  // @ts-expect-error: the budget check is for plugins ('memhooks/plugin'), not on the user's memory object.`,
      `  memory.assertDeviceBudget(1, 'x');`,
      `  return attention;`,
      `}`,
    ].join('\n');
    writeFileSync(join(app, 'esm.mts'), consumer);
    writeFileSync(join(app, 'cjs.cts'), consumer);
    const tsconfig = {
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        // tfjs-core's declarations use DOM types; memhooks' use Symbol.dispose.
        lib: ['ES2022', 'DOM', 'ESNext.Disposable'],
        // @types/node from this repository: the app installs only what the README says.
        typeRoots: [join(app, 'node_modules', '@types'), join(root, 'node_modules', '@types')],
      },
      files: ['esm.mts', 'cjs.cts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    const r = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(r.out + r.err).toBe('');
    expect(r.code).toBe(0);
  }, 120_000);
});

describe('the packed tarball, as the registry would get it', () => {
  it('passes publint (exports, files, formats)', () => {
    const r = devTool('publint', [tarball, '--strict']);
    expect(r.out + r.err).toContain('All good!');
    expect(r.code).toBe(0);
  }, 120_000);

  it('passes @arethetypeswrong/cli: ESM, CommonJS and types resolve for every subpath under node10, node16 and bundlers', () => {
    const r = devTool('@arethetypeswrong/cli', [tarball, '--format', 'json']);
    const report = JSON.parse(r.out) as { analysis: { entrypoints: Record<string, unknown> }; problems?: Record<string, unknown[]> | unknown[] };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './package.json', './plugin', './zoo']);
    // attw lists problems by kind ({} when there is none).
    expect(Object.values(report.problems ?? {}).flat()).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);
});

describe('the bin', () => {
  it('says "not built" only when dist/ is missing', () => {
    const bare = join(scratch, 'bare');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    writeFileSync(join(bare, 'bin', 'memhooks.cjs'), readFileSync(join(root, 'bin', 'memhooks.cjs')));
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'memhooks', version: '0.0.0' }));
    const r = run(process.execPath, [join(bare, 'bin', 'memhooks.cjs'), '--help'], bare);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^memhooks: the package is not built \(.*dist.cjs.src.cli.main\.js is missing\)\. Run `npm run build`/);
  });
});
