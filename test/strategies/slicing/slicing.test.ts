import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appliedStrategies,
  applyBatchSlicing,
  Conv2d,
  GroupNorm,
  HookRegistry,
  InvalidArgumentError,
  memory,
  MemhooksError,
  Module,
  unwrapLayersModel,
  wrapLayersModel,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { loadRealModel } from '../../helpers/realModels.js';
import { expectExact, rand, randomizeParameters } from '../../models/layers/helpers.js';

/** A small image decoder: its 64-channel activations are 16× the size of its 4-channel input and output. */
class WideDecoder extends Module {
  inConv = new Conv2d(4, 64, 3, { padding: 1 });
  norm = new GroupNorm(8, 64);
  outConv = new Conv2d(64, 4, 3, { padding: 1 });
  forward(x: tf.Tensor): tf.Tensor {
    return this.outConv.forward(tf.relu(this.norm.forward(this.inConv.forward(x))));
  }
}

/** Returns a pair [a, b] from a two-tensor input: slicing handles arrays of inputs and outputs. */
class Pair extends Module {
  readonly batches: number[] = [];
  forward(xs: tf.Tensor[], scale: number): tf.Tensor[] {
    this.batches.push(xs[0]!.shape[0]!);
    return [tf.mul(xs[0]!, scale), tf.add(xs[0]!, xs[1]!)];
  }
}

describe.each(BACKENDS)('batch slicing on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('is bitwise equal to the un-sliced forward, also when the batch does not divide, and remove() restores it', () => {
    const model = new WideDecoder();
    randomizeParameters(model);
    const plainForward = model.forward;
    for (const [batch, sliceSize] of [[4, 1], [5, 2], [3, 3], [2, 8]] as const) {
      const x = rand([batch, 6, 5, 4], batch);
      const expected = model.forward(x) as tf.Tensor;
      const handle = applyBatchSlicing(model, { sliceSize });
      expect(appliedStrategies(model)).toEqual(['batch_slicing']);
      const out = expectNoLeaks(() => model.forward(x) as tf.Tensor, { newTensors: 1 });
      expectExact(out, expected);
      handle.remove();
      expect(model.forward).toBe(plainForward);
      expect(HookRegistry.get(model)?.hookOrder ?? []).toEqual([]);
      tf.dispose([x, expected, out]);
    }
    model.dispose();
  });

  it('slices every tensor of an array input, passes other arguments through, and joins array outputs', () => {
    const model = new Pair();
    const xs = [rand([5, 3], 1), rand([5, 3], 2)];
    const expected = model.forward(xs, 3) as tf.Tensor[];
    const handle = applyBatchSlicing(model, { sliceSize: 2 });
    model.batches.length = 0;
    const out = model.forward(xs, 3) as tf.Tensor[];
    expectExact(out[0]!, expected[0]!);
    expectExact(out[1]!, expected[1]!);
    expect(model.batches).toEqual([2, 2, 1]);
    handle.remove();
    tf.dispose([xs, expected, out]);
  });

  it('divides the peak activation bytes by about the number of slices (memory.track)', () => {
    const model = new WideDecoder();
    const batch = 4;
    const x = rand([batch, 24, 24, 4], 7);
    const outBytes = x.size * 4; // same shape as the input
    const delta = (): number => {
      const base = memory.stats().deviceBytes;
      const { result, peakDeviceBytes } = memory.track(() => model.forward(x) as tf.Tensor);
      result.dispose();
      return peakDeviceBytes - base;
    };
    const full = delta();
    const handle = applyBatchSlicing(model, { sliceSize: 1 });
    const sliced = delta();
    handle.remove();
    // The un-sliced peak holds 64-channel activations for 4 samples (16× the output each); sliced, for one
    // sample, plus the outputs of the slices and their concatenation (2× the output).
    expect(full).toBeGreaterThan(8 * outBytes);
    expect(sliced).toBeLessThanOrEqual(full / batch * 1.25 + 2 * outBytes);
    x.dispose();
    model.dispose();
  });

  it('slices a wrapped real model through predict, bitwise', async () => {
    const model = await loadRealModel('upscaler-esrgan-2x');
    const root = wrapLayersModel(model);
    const x = tf.randomUniform([3, 8, 8, 3], 0, 255, 'float32', 5);
    const expected = model.predict(x) as tf.Tensor;
    const handle = applyBatchSlicing(root, { sliceSize: 2 });
    const out = expectNoLeaks(() => model.predict(x) as tf.Tensor, { newTensors: 1 });
    expectExact(out, expected);
    handle.remove();
    tf.dispose([x, expected, out]);
    unwrapLayersModel(model);
    model.dispose();
  });

  it('refuses bad options and inputs with a MemhooksError naming the option, changing nothing', () => {
    const model = new WideDecoder();
    const plainForward = model.forward;
    for (const sliceSize of [0, -1, 1.5, NaN, '2' as unknown as number]) {
      expect(() => applyBatchSlicing(model, { sliceSize })).toThrow(InvalidArgumentError);
      expect(() => applyBatchSlicing(model, { sliceSize })).toThrow(/sliceSize/);
    }
    expect(model.forward).toBe(plainForward);
    expect(appliedStrategies(model)).toEqual([]);
    const handle = applyBatchSlicing(model, { sliceSize: 1 });
    const scalar = tf.scalar(1);
    expect(() => model.forward(scalar)).toThrow(MemhooksError);
    expect(() => model.forward(scalar)).toThrow(/batch axis/);
    handle.remove();
    scalar.dispose();
    model.dispose();
  });
});
