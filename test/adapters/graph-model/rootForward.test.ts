import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphModelScope, HookRegistry, ModelHook, unwrapGraphModel, wrapGraphModel, type Module, type NextForward } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { expectBitwiseEqual } from '../../wrap/fixtures.js';
import { fixtureInput, loadFixtureGraphModel, trackGraphModels } from './graphFixture.js';

/** Records the arguments each forward of its module gets. */
class ArgsHook extends ModelHook {
  readonly seen: unknown[][] = [];
  override preForward(_m: Module, args: any[]): any[] {
    this.seen.push([...args]);
    return args;
  }
}

/** Replaces the call: runs the rest of the chain on the input doubled, as tiling runs it on a tile. */
class DoubleInput extends ModelHook {
  calls = 0;
  override newForward(_m: Module, args: any[], next: NextForward): any {
    this.calls++;
    const [x, ...rest] = args as [tf.Tensor, ...unknown[]];
    const doubled = tf.mul(x, 2);
    try {
      return next(doubled, ...rest);
    } finally {
      doubled.dispose();
    }
  }
}

/** Replaces the call: runs the rest of the chain on the middle 8×8 pixels of the image. */
class CropTo8 extends ModelHook {
  override newForward(_m: Module, args: any[], next: NextForward): any {
    const [x, ...rest] = args as [tf.Tensor, ...unknown[]];
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const middle = tf.slice(x, [0, (h - 8) / 2, (w - 8) / 2, 0], [b, 8, 8, c]);
    try {
      return next(middle, ...rest);
    } finally {
      middle.dispose();
    }
  }
}

const register = (m: Module, hook: ModelHook, name: string) => HookRegistry.checkIfExistsOrInitialize(m).registerHook(hook, name);

describe.each(BACKENDS)('the root of a wrapped GraphModel takes the model\'s own arguments on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackGraphModels();
  const load = async () => track(await loadFixtureGraphModel());

  it('gives a root hook the caller\'s inputs and outputs, once per call of execute, predict and executeAsync', async () => {
    const model = await load();
    const root = wrapGraphModel(model);
    const hook = new ArgsHook();
    register(root, hook, 'args');
    const x = fixtureInput();
    const outs = [
      model.execute(x),
      model.execute(x, ['net/block1/add']),
      model.execute({ x }, 'net/block2/Relu6'),
      model.predict(x),
      await model.executeAsync([x]),
    ];
    expect(hook.seen).toHaveLength(5);
    expect(hook.seen[0]![0]).toBe(x);
    expect(hook.seen[0]![1]).toBeUndefined();
    expect(hook.seen[1]).toEqual([x, ['net/block1/add']]);
    expect(hook.seen[2]![0]).toEqual({ x });
    expect(hook.seen[2]![1]).toBe('net/block2/Relu6');
    // predict is execute with the model's output names.
    expect(hook.seen[3]).toEqual([x, model.outputNodes]);
    expect(hook.seen[4]![0]).toEqual([x]);
    // Unwrapping gives the model its own methods back: nothing of ours stays on it.
    unwrapGraphModel(model);
    expect(Object.getOwnPropertyNames(model).filter((k) => ['execute', 'executeAsync', 'predict'].includes(k))).toEqual([]);
    const after = model.execute(x) as tf.Tensor;
    expect(hook.seen).toHaveLength(5);
    tf.dispose([x, after, outs as tf.Tensor[]]);
  });

  it('runs the graph on what a root hook that replaces the call passes on, bitwise the model on those inputs', async () => {
    const model = await load();
    const x = fixtureInput();
    const doubled = tf.mul(x, 2);
    const expected = model.execute(doubled) as tf.Tensor;
    const root = wrapGraphModel(model);
    // The root of a graph without control flow runs the model: root.forward(x) is model.execute(x).
    if (!(root instanceof GraphModelScope)) throw new Error('the root of a graph without control flow is a GraphModelScope');
    const hook = new DoubleInput();
    const handle = register(root, hook, 'double');
    // A hook below the root still runs around its own ops, inside the replaced call.
    const inner = new ArgsHook();
    register(root.getSubmodule('net.head'), inner, 'args');
    const outs = expectNoLeaks(() => [model.execute(x) as tf.Tensor, model.predict(x) as tf.Tensor, root.forward(x) as tf.Tensor], { newTensors: 3 });
    outs.push((await model.executeAsync(x)) as tf.Tensor);
    for (const y of outs) expectBitwiseEqual(y, expected);
    expect(hook.calls).toBe(4);
    expect(inner.seen).toHaveLength(4);
    handle.remove();
    tf.dispose([x, doubled, expected, outs]);
  });

  it('checks input names before any root hook runs; shapes on each execution, so a root hook may hand the graph another size', async () => {
    const model = await load();
    const x = fixtureInput();
    const expected = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    const log = new ArgsHook();
    register(root, new CropTo8(), 'crop');
    register(root, log, 'log');
    expect(() => model.execute({ nope: x })).toThrow(/not part of graph/);
    await expect(model.executeAsync({ nope: x })).rejects.toThrow(/not part of graph/);
    expect(log.seen).toEqual([]);
    // The graph takes 8×8 images only; the hook crops a 10×10 one to what the graph takes (as tiling cuts tiles).
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const y = expectNoLeaks(() => model.execute(padded) as tf.Tensor, { newTensors: 1 });
    expectBitwiseEqual(y, expected);
    // What the hook cannot fix fails with tfjs' own error, from the execution it makes.
    const bad = tf.zeros([2, 10, 10, 4]);
    expectNoLeaks(() => expect(() => model.execute(bad)).toThrow(/shape/));
    tf.dispose([x, expected, padded, y, bad]);
  });

  it('runs the root\'s hooks once when the executor is called on its own, given the inputs by name', async () => {
    const model = await load();
    const x = fixtureInput();
    const expected = model.execute(x) as tf.Tensor;
    const root = wrapGraphModel(model);
    const hook = new ArgsHook();
    register(root, hook, 'args');
    const executor = (model as unknown as { executor: { execute(i: tf.NamedTensorMap, o: string[]): tf.Tensor[] } }).executor;
    const out = executor.execute({ x }, model.outputNodes);
    expect(out).toHaveLength(1);
    expectBitwiseEqual(out[0]!, expected);
    expect(hook.seen).toEqual([[{ x }, model.outputNodes]]);
    tf.dispose([x, expected, out]);
  });
});
