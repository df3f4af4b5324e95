import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyStrategy,
  appliedStrategies,
  HookRegistry,
  strategy,
  unwrapLayersModel,
  wrapLayersModel,
  type Module,
} from '../../src/index.js';
import { createContainer, Strategy, type Undo } from '../../src/plugin.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { buildSequentialModel, disposeAll, expectBitwiseEqual, OnloadHook, trackModels, weightedLeaves } from './fixtures.js';

/** A small offloading strategy: one onload hook per weighted leaf, every parameter on the host; undone by remove. */
function defineOffload() {
  const c = createContainer();
  const log: string[] = [];
  class Offload extends Strategy<object> {
    override apply(root: Module): Undo {
      log.push('apply');
      const handles = weightedLeaves(root).map((m) => HookRegistry.checkIfExistsOrInitialize(m).registerHook(new OnloadHook(), 'offload'));
      for (const p of root.parameters()) p.toHost();
      return {
        remove: () => {
          log.push('remove');
          for (const h of handles) h.remove();
          for (const p of root.parameters()) p.toDevice();
        },
      };
    }
  }
  strategy('wrap-test-offload', { container: c })(Offload);
  return { c, log };
}

describe.each(BACKENDS)('unwrapLayersModel on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const track = trackModels();

  it('removes the strategies applied to the tree through their own undo, leaving their handles removed', () => {
    const { c, log } = defineOffload();
    const model = track(buildSequentialModel());
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 11);
    const ref = model.predict(x) as tf.Tensor;
    const root = wrapLayersModel(model);
    const handle = applyStrategy(root, 'wrap-test-offload', {}, { container: c });
    expect(appliedStrategies(root)).toEqual(['wrap-test-offload']);
    expect(root.memoryFootprint().device).toBe(0);
    const offloaded = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(offloaded, ref);

    unwrapLayersModel(model);
    expect(log).toEqual(['apply', 'remove']);
    expect(handle.removed).toBe(true);
    expect(appliedStrategies(root)).toEqual([]);
    expect(() => handle.remove()).not.toThrow();
    expect(log).toEqual(['apply', 'remove']);
    expect(root.modules().every((m) => (HookRegistry.get(m)?.hookOrder.length ?? 0) === 0)).toBe(true);
    const after = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(after, ref);

    // A new tree of the same model takes the same strategy again.
    const root2 = wrapLayersModel(model);
    const handle2 = applyStrategy(root2, 'wrap-test-offload', {}, { container: c });
    const again = model.predict(x) as tf.Tensor;
    expectBitwiseEqual(again, ref);
    handle2.remove();
    disposeAll(x, ref, offloaded, after, again);
  });

  it('removes a strategy applied to a sub-module of the tree too', () => {
    const { c, log } = defineOffload();
    const model = track(buildSequentialModel());
    const root = wrapLayersModel(model);
    const handle = applyStrategy(root.getSubmodule('d2'), 'wrap-test-offload', {}, { container: c });
    unwrapLayersModel(model);
    expect(log).toEqual(['apply', 'remove']);
    expect(handle.removed).toBe(true);
    expect(appliedStrategies(root.getSubmodule('d2'))).toEqual([]);
  });
});
