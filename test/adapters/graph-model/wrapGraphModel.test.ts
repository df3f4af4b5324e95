import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  getWrappedGraphModule,
  GraphScope,
  HookRegistry,
  InvalidArgumentError,
  memory,
  ModelHook,
  ParameterNotResidentError,
  UnsupportedModelError,
  unwrapGraphModel,
  wrapGraphModel,
  type Module,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { buildNestedModel, expectBitwiseEqual } from '../../wrap/fixtures.js';
import { FIXTURE_WEIGHTS, fixtureInput, loadFixtureGraphModel, loadSplitGraphModel, trackGraphModels } from './graphFixture.js';

class LogHook extends ModelHook {
  constructor(private readonly label: string, private readonly log: string[]) {
    super();
  }
  override preForward(_m: Module, args: any[]): any[] {
    this.log.push(`>${this.label}`);
    return args;
  }
  override postForward(_m: Module, out: any): any {
    this.log.push(`<${this.label}`);
    return out;
  }
}

const register = (m: Module, hook: ModelHook, name: string) => HookRegistry.checkIfExistsOrInitialize(m).registerHook(hook, name);

/** A hook on every module: forces every scope to run as its own segments. */
function hookEverything(root: Module, log: string[] = []): void {
  for (const [path, m] of root.namedModules()) register(m, new LogHook(path === '' ? 'root' : path, log), 'log');
}

describe.each(BACKENDS)('wrapGraphModel on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackGraphModels();
  const load = async () => track(await loadFixtureGraphModel());

  it('mirrors the name scopes as modules, every float weight a Parameter holding the executor tensor', async () => {
    const model = await load();
    const before = { ...model.weights };
    const bytes = tf.memory().numBytes;
    const root = wrapGraphModel(model);
    expect(tf.memory().numBytes).toBe(bytes);
    expect(root).toBeInstanceOf(GraphScope);
    expect(root.namedModules().map(([p]) => p)).toEqual(['', 'net', 'net.stem', 'net.block1', 'net.block1.conv', 'net.block2', 'net.block2.dw', 'net.block2.pw', 'net.head']);
    const params = root.namedParameters();
    expect(params.map(([p]) => p).sort()).toEqual(
      Object.keys(FIXTURE_WEIGHTS).map((w) => w.replaceAll('/', '.')).sort(),
    );
    for (const [path, p] of params) expect(p.peek()).toBe(before[path.replaceAll('.', '/')]![0]);
    // The int32 axes constant is not a Parameter and stays as it was.
    expect(model.weights['net/pool/axes']![0]).toBe(before['net/pool/axes']![0]);
    expect(getWrappedGraphModule(model)).toBe(root);
  });

  it('runs each scope\'s hooks around its ops in execution order, a non-contiguous scope once per run', async () => {
    const model = await load();
    const root = wrapGraphModel(model);
    const log: string[] = [];
    hookEverything(root, log);
    const x = fixtureInput();
    tf.dispose(model.execute(x));
    expect(log).toEqual([
      '>root', '>net',
      '>net.stem', '<net.stem',
      '>net.block1', '>net.block1.conv', '<net.block1.conv', '<net.block1',
      '>net.stem', '<net.stem',
      '>net.block2', '>net.block2.dw', '<net.block2.dw', '>net.block2.pw', '<net.block2.pw', '<net.block2',
      '>net.head', '<net.head',
      '<net', '<root',
    ]);
    x.dispose();
  });

  it('gives bitwise the unwrapped outputs through predict, execute (named outputs too) and executeAsync, without leaks', async () => {
    const model = await load();
    const x = fixtureInput();
    const ref = model.execute(x) as tf.Tensor;
    const refMid = model.execute(x, ['net/block1/add', 'net/head/Softmax']) as tf.Tensor[];
    const root = wrapGraphModel(model);
    hookEverything(root);
    const outs = [model.predict(x) as tf.Tensor, model.execute(x) as tf.Tensor, (await model.executeAsync(x)) as tf.Tensor];
    for (const y of outs) expectBitwiseEqual(y, ref);
    const mid = model.execute(x, ['net/block1/add', 'net/head/Softmax']) as tf.Tensor[];
    expectBitwiseEqual(mid, refMid);
    const named = model.execute({ x }, 'net/block2/Relu6') as tf.Tensor;
    expect(named.shape).toEqual([2, 8, 8, 8]);
    await expectNoLeaks(async () => {
      for (let i = 0; i < 100; i++) tf.dispose(i % 2 === 0 ? model.execute(x) : await model.executeAsync(x));
    });
    tf.dispose([ref, refMid, outs, mid, named, x]);
  });

  it('sees a weight moved to the host and back as the new tensor, and fails naming a weight left on the host', async () => {
    const model = await load();
    const x = fixtureInput();
    const ref = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    hookEverything(root);
    const head = root.getSubmodule('net.head');
    for (const [, p] of head.namedParameters()) p.toHost().toDevice();
    expectBitwiseEqual(model.execute(x) as tf.Tensor, ref);
    const [, kernel] = head.namedParameters()[0]!;
    kernel.toHost();
    expect(() => model.execute(x)).toThrow(ParameterNotResidentError);
    kernel.toDevice();
    const again = model.execute(x) as tf.Tensor;
    expectBitwiseEqual(again, ref);
    tf.dispose([ref, again, x]);
  });

  it('keeps a weight uploaded again (a new tensor) alive through the executor\'s own executeAsync, with no hook', async () => {
    const model = await load();
    const x = fixtureInput();
    const ref = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    for (const [, p] of root.namedParameters()) p.toHost().toDevice();
    for (let i = 0; i < 2; i++) {
      const y = (await model.executeAsync(x)) as tf.Tensor;
      expectBitwiseEqual(y, ref);
      y.dispose();
    }
    for (const [path, p] of root.namedParameters()) expect(p.peek()!.isDisposed, path).toBe(false);
    tf.dispose([ref, x]);
  });

  it('leaves the model unchanged on wrong inputs, with tfjs\' own error, before any hook runs', async () => {
    const model = await load();
    const root = wrapGraphModel(model);
    const log: string[] = [];
    hookEverything(root, log);
    const bad = tf.zeros([2, 5, 5, 3]);
    expect(() => model.execute(bad)).toThrow(/shape/);
    expect(() => model.execute({ nope: bad })).toThrow(/not part of graph/);
    expect(log).toEqual([]);
    bad.dispose();
  });

  it('unwraps exactly: the executor\'s own execute and weight map, holding the tensors it had', async () => {
    const model = await load();
    const weights = { ...model.weights };
    const executor = (model as unknown as { executor: object }).executor;
    const x = fixtureInput();
    const ref = model.execute(x) as tf.Tensor;
    const kept = Object.fromEntries(Object.entries(weights).map(([name, ts]) => [name, ts[0]!.kept]));
    const root = wrapGraphModel(model);
    hookEverything(root);
    const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' });
    tf.dispose(model.execute(x));
    unwrapGraphModel(model);
    expect(handle.removed).toBe(true);
    expect(root.modules().filter((m) => HookRegistry.get(m)?.hookOrder.length)).toEqual([]);
    expect(Object.getOwnPropertyNames(executor).filter((k) => ['execute', 'executeAsync', 'dispose', 'weightMap', 'weightIds'].includes(k))).toEqual([]);
    // Offloaded weights came back as new tensors; the executor holds those, not kept, as loading left them.
    for (const [name, ts] of Object.entries(model.weights)) {
      expect(ts[0]!.isDisposed, name).toBe(false);
      expect(ts[0]!.kept, name).toBe(kept[name]);
    }
    expect(getWrappedGraphModule(model)).toBeUndefined();
    const y = model.execute(x) as tf.Tensor;
    expectBitwiseEqual(y, ref);
    // Wrapping again works after an unwrap.
    expect(wrapGraphModel(model)).toBeInstanceOf(GraphScope);
    tf.dispose([ref, y, x]);
  });

  it('feeds two outputs of one op of another scope to two ops of a scope (cut into two runs), bitwise', async () => {
    const model = track(await loadSplitGraphModel(false));
    const x = tf.tensor2d([[1, 2, 3, 4], [-1, 0.5, 2, 0]]);
    const ref = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    const log: string[] = [];
    hookEverything(root, log);
    const y = model.execute(x) as tf.Tensor;
    expectBitwiseEqual(y, ref);
    expect(log).toEqual(['>root', '>a', '<a', '>b', '<b', '<root']);
    tf.dispose([x, ref, y]);
  });

  it('refuses, naming it, an op that reads two outputs of another scope\'s op while hooked; runs it unhooked', async () => {
    const model = track(await loadSplitGraphModel(true));
    const x = tf.tensor2d([[1, 2, 3, 4]]);
    const ref = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    const y = model.execute(x) as tf.Tensor;
    expectBitwiseEqual(y, ref);
    hookEverything(root);
    expect(() => model.execute(x)).toThrow(/"b\/Sub"/);
    tf.dispose([x, ref, y]);
  });

  it('model.dispose() while wrapped ends every weight through its Parameter, offloaded ones too', async () => {
    const before = { tensors: tf.memory().numTensors, host: memory.stats().hostBytes };
    const model = await loadFixtureGraphModel();
    const root = wrapGraphModel(model);
    const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' });
    expect(memory.stats().hostBytes).toBeGreaterThan(before.host);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(memory.stats().hostBytes).toBe(before.host);
    expect(root.parameters().every((p) => p.isDisposed)).toBe(true);
    expect(handle.removed).toBe(true);
    expect(getWrappedGraphModule(model)).toBeUndefined();
  });

  it('refuses a LayersModel, an unloaded model and a model already wrapped, saying what to call instead', async () => {
    const layers = buildNestedModel();
    expect(() => wrapGraphModel(layers as never)).toThrow(UnsupportedModelError);
    expect(() => wrapGraphModel(layers as never)).toThrow(/wrapLayersModel\(model\)/);
    layers.dispose();
    const { GraphModel: Ctor } = await import('@tensorflow/tfjs-converter');
    const unloaded = new Ctor('file:///nowhere/model.json');
    expect(() => wrapGraphModel(unloaded)).toThrow(/not loaded yet.*model\.load\(\)/);
    const model = await load();
    wrapGraphModel(model);
    expect(() => wrapGraphModel(model)).toThrow(InvalidArgumentError);
    expect(() => wrapGraphModel(model)).toThrow(/getWrappedGraphModule\(model\).*unwrapGraphModel\(model\)/);
  });
});
