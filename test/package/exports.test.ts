import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as source from '../../src/index.js';
import * as pluginSource from '../../src/plugin.js';
import * as zooSource from '../../src/zoo.js';

/**
 * What a user installs is the build, not the sources the other tests import: check that the package's own
 * name resolves through its exports map to working ESM and CommonJS builds with the same API, and that
 * the bin runs. `npm test` builds dist/ first (so does `npm pack`, in prepack); run `npm run build` after changing sources.
 */
const root = join(import.meta.dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'cjs', 'src', 'index.js')) && existsSync(join(root, 'dist', 'esm', 'src', 'index.js'));

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('the built package', () => {
  it('exists (npm test runs the build; otherwise run npm run build)', () => {
    expect(built).toBe(true);
  });

  const names = (code: string): string[] => JSON.parse(node(code.startsWith('import') ? ['--input-type=module', '-e', code] : ['-e', code]));
  const entries = [
    { specifier: 'memhooks', source: source as object },
    { specifier: 'memhooks/plugin', source: pluginSource as object },
    { specifier: 'memhooks/zoo', source: zooSource as object },
  ];

  it.each(entries)('exports the same names from $specifier, ESM and CommonJS, as its source entry does', ({ specifier, source: entry }) => {
    const cjs = names(`console.log(JSON.stringify(Object.keys(require('${specifier}')).filter((k) => k !== '__esModule').sort()))`);
    const esm = names(`import * as m from '${specifier}'; console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))`);
    const expected = Object.keys(entry).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(cjs).toEqual(expected);
    expect(esm).toEqual(expected);
  });

  it('splits the API by reader: the user API at the root, plugin authors and the zoo on their subpaths, internals nowhere', () => {
    const root = Object.keys(source);
    const plugin = Object.keys(pluginSource);
    const zoo = Object.keys(zooSource);
    expect(root).toEqual(expect.arrayContaining(['Module', 'Parameter', 'HookRegistry', 'ModelHook', 'memory', 'module', 'strategy', 'applyStrategy', 'wrapLayersModel', 'parseSize']));
    expect(plugin).toEqual(expect.arrayContaining(['Strategy', 'strategy', 'registerStrategy', 'applyStrategy', 'ModelHook', 'HookRegistry', 'emitEvent', 'events', 'assertDeviceBudget', 'container', 'createContainer']));
    expect(zoo).toEqual(expect.arrayContaining(['loadPretrained', 'fetchPretrained', 'PRETRAINED_MODELS', 'DiffusionPipeline', 'createDiffusionComponents']));
    // The zoo is only on its subpath; the plugin-only names are not at the root.
    expect(root.filter((n) => zoo.includes(n))).toEqual([]);
    expect(root).not.toContain('Strategy');
    expect(root).not.toContain('emitEvent');
    // Internals named in issue #23: codecs, device-map internals, shard helpers, the mutable backend set, file helpers.
    const internals = ['decodeBits', 'viewPacked', 'FORMATS', 'DECODE_WORKER_SOURCE', 'entryFor', 'validateDeviceMap', 'cleanDeviceMap', 'planShards', 'shardFileName', 'EARLY_UPLOAD_BACKENDS', 'writeFileAtomic', 'writeFileAtomicSync', 'resolveFileInside'];
    for (const list of [root, plugin, zoo]) expect(list.filter((n) => internals.includes(n))).toEqual([]);
    // The budget check is a plugin function, not part of the user's memory object's type (it stays callable there for the other build).
    expect(typeof pluginSource.assertDeviceBudget).toBe('function');
  });

  it('runs a hooked module from the CommonJS build', () => {
    const out = node([
      '-e',
      `const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-cpu');
       const { Module, Parameter, HookRegistry, ModelHook } = require('memhooks');
       class M extends Module { constructor() { super(); this.w = new Parameter(tf.scalar(2)); } forward(x) { return tf.mul(x, this.w.read()); } }
       class Plus extends ModelHook { postForward(_m, y) { return tf.add(y, 1); } }
       const m = new M(); HookRegistry.checkIfExistsOrInitialize(m).registerHook(new Plus(), 'plus');
       console.log(m.forward(tf.scalar(3)).dataSync()[0]);`,
    ]);
    expect(out.trim().split('\n').at(-1)).toBe('7');
  });

  it('works with both builds loaded in one process, mixing their modules and hooks', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import * as tf from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-cpu';
       import * as esm from 'memhooks';
       const cjs = createRequire(process.cwd() + '/package.json')('memhooks');
       if (esm.Module === cjs.Module) throw new Error('expected two copies');
       class Child extends esm.Module { constructor() { super(); this.w = new cjs.Parameter(tf.scalar(2)); } forward(x) { return tf.mul(x, this.w.read()); } }
       class Root extends cjs.Module { constructor() { super(); this.child = new Child(); this.list = new esm.ModuleList([new esm.Linear(1, 1)]); } forward(x) { return this.child.forward(x); } }
       const root = new Root();
       class Plus extends esm.ModelHook { postForward(_m, y) { return tf.add(y, 1); } }
       cjs.HookRegistry.checkIfExistsOrInitialize(root).registerHook(new Plus(), 'plus');
       const paths = root.namedParameters().map(([p]) => p).join(',');
       console.log(paths, root.forward(tf.scalar(3)).dataSync()[0], root.child instanceof cjs.Module);`,
    ]);
    expect(out.trim().split('\n').at(-1)).toBe('child.w,list.0.weight,list.0.bias 7 true');
  });

  it('keeps errors, vetoes and hook defaults consistent across the two copies', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import * as tf from '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-cpu';
       import * as E from 'memhooks';
       const C = createRequire(process.cwd() + '/package.json')('memhooks');
       class Leaf extends E.Module { forward(x) { return x; } }
       class Root extends E.Module { a = new Leaf(); b = new Leaf(); forward(x) { return this.b.forward(this.a.forward(x)); } }
       const r = new Root();
       class Veto extends C.ModelHook { deinitializeHook() { throw new Error('no'); } }
       C.HookRegistry.checkIfExistsOrInitialize(r.a).registerHook(new Veto(), 'h');
       E.HookRegistry.checkIfExistsOrInitialize(r.b).registerHook(new (class Ok extends E.ModelHook {})(), 'h');
       let code; try { E.HookRegistry.checkIfExistsOrInitialize(r).removeHook('h'); } catch (e) { code = e.code + ':' + (e instanceof E.MemhooksError); }
       const p = new C.Parameter(tf.ones([2])); p.toHost();
       let resident; try { p.read(); } catch (e) { resident = e instanceof E.ParameterNotResidentError; }
       class S extends C.ModelHook { constructor() { super(); this.stateful = true; } }
       let stateful; try { E.HookRegistry.checkIfExistsOrInitialize(new Leaf()).registerHook(new S(), 's'); } catch (e) { stateful = e.code; }
       console.log(code, E.HookRegistry.get(r.b).hookOrder.length, resident, stateful);`,
    ]);
    expect(out.trim().split('\n').at(-1)).toBe('HOOK_REMOVAL_REFUSED:true 0 true INVALID_HOOK');
  });

  it('has a working bin', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    expect(node([join(root, pkg.bin.memhooks!), '--version']).trim()).toBe(pkg.version);
  });
});
