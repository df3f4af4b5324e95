import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HookRegistry, ModelHook, Module, ModuleList, wrapLayersModel, type NextForward } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { Recorder } from '../helpers/modules.js';
import { buildSequentialModel, disposeAll, expectBitwiseEqual, trackModels } from '../wrap/fixtures.js';

/** Applies `f` to a tensor, or to each tensor of an array (a wrapped tfjs layer gets and returns either). */
function each(x: tf.Tensor | tf.Tensor[], f: (t: tf.Tensor) => tf.Tensor): tf.Tensor | tf.Tensor[] {
  return Array.isArray(x) ? x.map(f) : f(x);
}

/** Replaces the arguments with new tensors: the replaced ones are the hook's to leave behind. */
class AddPre extends ModelHook {
  override preForward(_m: Module, args: any[]): any[] {
    return [each(args[0], (t) => tf.add(t, 1)), ...args.slice(1)];
  }
}

/** Replaces the output with a new tensor. */
class MulPost extends ModelHook {
  override postForward(_m: Module, out: any): any {
    return each(out, (t) => tf.mul(t, 2));
  }
}

/** Runs the inner chain twice (as batch slicing will) and returns the sum: both inner outputs are intermediates. */
class TwiceAround extends ModelHook {
  override newForward(_m: Module, args: any[], next: NextForward): any {
    const a = next(...args);
    const b = next(...args);
    return Array.isArray(a) ? a.map((t, i) => tf.add(t, b[i])) : tf.add(a, b);
  }
}

/** Passes the caller's tensors through untouched on both sides. */
class PassThrough extends ModelHook {
  override preForward(_m: Module, args: any[]): any[] {
    return args;
  }
  override postForward(_m: Module, out: any): any {
    return out;
  }
}

/** Keeps the last output across calls on purpose, with tf.keep, and releases it in resetState and detachHook. */
class LastOutputCache extends ModelHook {
  override readonly stateful = true;
  cached: tf.Tensor | undefined;
  override postForward(_m: Module, out: any): any {
    this.cached?.dispose();
    this.cached = tf.keep(tf.clone(out as tf.Tensor));
    return out;
  }
  override resetState(): void {
    this.cached?.dispose();
    this.cached = undefined;
  }
  override detachHook(): void {
    this.resetState();
  }
  override deinitializeHook(): void {
    this.resetState();
  }
}

class Outer extends Module {
  inner = new ModuleList([new Recorder(), new Recorder()]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.inner.at(1).forward(tf.relu(this.inner.at(0).forward(x)));
  }
}

function hookAll(m: Module): void {
  const registry = HookRegistry.checkIfExistsOrInitialize(m);
  registry.registerHook(new AddPre(), 'pre');
  registry.registerHook(new MulPost(), 'post');
  registry.registerHook(new TwiceAround(), 'around');
}

/** Tensors alive after 50 calls of `fn` (each output disposed) minus before. */
function leakedOver50(fn: () => tf.TensorContainer): number {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) tf.dispose(fn());
  return tf.memory().numTensors - before;
}

describe.each(BACKENDS)('hooked dispatch releases what hooks make, on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());
  const track = trackModels();

  it('leaks nothing with tensor-making pre, post and around hooks on a plain module, and computes through all three', () => {
    const m = new Recorder();
    hookAll(m);
    const x = tf.scalar(3);
    // around(x) = 2·inner(x); inner = post(forward(pre(x))) = 2·(x + 1 + 1) → 2·2·5 = 20.
    const out = m.forward(x) as tf.Tensor;
    expect(out.dataSync()[0]).toBe(20);
    out.dispose();
    expect(leakedOver50(() => m.forward(x))).toBe(0);
    expect(x.isDisposed).toBe(false);
    x.dispose();
    m.dispose();
  });

  it('leaks nothing with hooks on a parent and on its children (nested module)', () => {
    const m = new Outer();
    hookAll(m);
    for (const child of m.inner) hookAll(child as Module);
    const x = tf.tensor1d([-2, 0.5, 4]);
    expect(leakedOver50(() => m.forward(x))).toBe(0);
    expect(x.isDisposed).toBe(false);
    disposeAll(x);
    m.dispose();
  });

  it('leaks nothing inside a wrapped model: through predict, apply and a direct root.forward', () => {
    const model = track(buildSequentialModel());
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 2);
    const bare = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    for (const leaf of root.children()) hookAll(leaf);
    hookAll(root);
    expect(leakedOver50(() => model.predict(x) as tf.Tensor)).toBe(0);
    expect(leakedOver50(() => model.apply(x) as tf.Tensor)).toBe(0);
    expect(leakedOver50(() => root.forward(x) as tf.Tensor)).toBe(0);
    // The hooks really ran: the hooked prediction differs from the bare one.
    const hooked = model.predict(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(hooked, bare))).dataSync()[0]).toBeGreaterThan(0);
    disposeAll(x, bare, hooked);
  });

  it('never disposes the caller’s tensors, also when every hook passes them through unchanged', () => {
    class Echo extends Module {
      forward(a: tf.Tensor, b: tf.Tensor): tf.Tensor[] {
        return [a, b];
      }
    }
    const m = new Echo();
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new PassThrough(), 'a');
    registry.registerHook(new PassThrough(), 'b');
    const a = tf.scalar(1);
    const b = tf.scalar(2);
    const [outA, outB] = expectNoLeaks(() => m.forward(a, b) as tf.Tensor[]);
    expect(outA).toBe(a);
    expect(outB).toBe(b);
    expect(a.isDisposed || b.isDisposed).toBe(false);
    disposeAll(a, b);
  });

  it('releases everything when the forward throws, and the error propagates unchanged', () => {
    const failure = new Error('boom inside forward');
    class Fails extends Module {
      forward(x: tf.Tensor): tf.Tensor {
        tf.mul(x, 3); // an intermediate of the module itself
        throw failure;
      }
    }
    const m = new Fails();
    hookAll(m);
    const x = tf.scalar(1);
    expectNoLeaks(() => {
      for (let i = 0; i < 50; i++) {
        let caught: unknown;
        try {
          m.forward(x);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBe(failure);
      }
    });
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  it('keeps a tensor a hook tf.keep()s across calls, until the hook releases it', () => {
    const m = new Recorder();
    const cache = new LastOutputCache();
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new MulPost(), 'post');
    registry.registerHook(cache, 'cache');
    const x = tf.scalar(4);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.dispose(m.forward(x));
    // Exactly the one cached tensor survives, alive and holding the last output: (4 + 1)·2.
    expect(tf.memory().numTensors - before).toBe(1);
    expect(cache.cached!.isDisposed).toBe(false);
    expect(cache.cached!.dataSync()[0]).toBe(10);
    registry.resetStatefulHooks();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(m.forward(x));
    registry.removeHook('cache');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });
});

describe.each(BACKENDS)('a wrapped root called directly returns what model.apply returns, on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('a Tensor for a single-output model', () => {
    const model = track(buildSequentialModel());
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 9);
    const applied = model.apply(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const out = root.forward(x);
    expect(out).toBeInstanceOf(tf.Tensor);
    expectBitwiseEqual(out as tf.Tensor, applied);
    disposeAll(x, applied, out);
  });

  it('an array in the model’s output order for a multi-output model', () => {
    const inp = tfl.input({ shape: [4], name: 'mi' });
    const first = tfl.layers.dense({ units: 3, name: 'first' }).apply(inp) as tfl.SymbolicTensor;
    const second = tfl.layers.dense({ units: 2, name: 'second' }).apply(inp) as tfl.SymbolicTensor;
    const model = track(tfl.model({ inputs: inp, outputs: [second, first], name: 'two_heads' }));
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 10);
    const applied = model.apply(x) as tf.Tensor[];
    const root = wrapLayersModel(model);
    const out = root.forward(x) as tf.Tensor[];
    expect(Array.isArray(out)).toBe(true);
    expect(out.map((t) => t.shape)).toEqual([[2, 2], [2, 3]]);
    expectBitwiseEqual(out, applied);
    disposeAll(x, applied, out);
  });
});
