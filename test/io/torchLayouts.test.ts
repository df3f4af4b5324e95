import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Conv2d, GroupNorm, Linear, Module, module, SafetensorsFile } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

/**
 * test/fixtures/torch-tiny was written by PyTorch 2.13 (make_torch_tiny.py): a diffusers-style module with
 * Conv2d (OIHW), a grouped strided Conv2d, GroupNorm and Linear ([out, in]) weights, and its forward output.
 * Loaded with fromPretrained, our NHWC model with device layouts ([in, out], HWIO) must reproduce it.
 */
const FIXTURE = join(__dirname, '..', 'fixtures', 'torch-tiny');

/** Float32 kernels in another order of summation: 1e-5 absolute on outputs of magnitude about 1. */
const TOLERANCE = 1e-5;

@module()
class TorchTinyNet extends Module {
  conv_in: Conv2d;
  norm: GroupNorm;
  conv_down: Conv2d;
  proj_out: Linear;
  constructor(channels: number, outFeatures: number, groups: number) {
    super();
    this.conv_in = new Conv2d(3, channels, 3, { padding: 1 });
    this.norm = new GroupNorm(groups, channels);
    this.conv_down = new Conv2d(channels, channels, 3, { stride: 2, padding: 1, groups: 2 });
    this.proj_out = new Linear(channels, outFeatures);
  }
  forward(x: tf.Tensor4D): tf.Tensor {
    const h = this.norm.forward(this.conv_in.forward(x));
    const silu = tf.mul(h, tf.sigmoid(h)) as tf.Tensor4D;
    return this.proj_out.forward(this.conv_down.forward(silu));
  }
}

const io = JSON.parse(readFileSync(join(FIXTURE, 'forward.json'), 'utf8')) as {
  input_nchw_shape: [number, number, number, number];
  input_nchw: number[];
  output_nhwc_shape: number[];
  output_nhwc: number[];
};

describe('PyTorch layouts at the checkpoint boundary', () => {
  afterAll(() => useBackend('cpu'));

  for (const backend of BACKENDS) {
    it(`reproduces PyTorch's forward output from a PyTorch-written checkpoint on ${backend} (within ${TOLERANCE})`, async () => {
      await useBackend(backend);
      await expectNoLeaks(async () => {
        const model = await TorchTinyNet.fromPretrained(FIXTURE);
        // Device layouts: Linear [in, out] ([out, in], PyTorch's, on cpu), convs HWIO (grouped: [kh, kw, in/groups, out]).
        expect(model.proj_out.weight.shape).toEqual(backend === 'cpu' ? [4, 8] : [8, 4]);
        expect(model.conv_in.weight.shape).toEqual([3, 3, 3, 8]);
        expect(model.conv_down.weight.shape).toEqual([3, 3, 4, 8]);
        // torch computes NCHW; ours NHWC: transpose the input, compare the NHWC output.
        const x = tf.tidy(() => tf.transpose(tf.tensor4d(io.input_nchw, io.input_nchw_shape), [0, 2, 3, 1]));
        const y = model.forward(x as tf.Tensor4D);
        expect(y.shape).toEqual(io.output_nhwc_shape);
        const got = await y.data();
        let maxDiff = 0;
        io.output_nhwc.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i]!))));
        expect(maxDiff).toBeLessThanOrEqual(TOLERANCE);
        // A wrong layout (e.g. Linear used as [out, in] reshaped) would be off by far more than the tolerance.
        expect(Math.max(...io.output_nhwc.map(Math.abs))).toBeGreaterThan(100 * TOLERANCE);
        tf.dispose([x, y]);
        model.dispose();
      });
    });
  }

  it("saves back in PyTorch's layouts: the same tensors, byte for byte, as PyTorch wrote", async () => {
    await useBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'memhooks-torch-'));
    try {
      cpSync(FIXTURE, join(dir, 'in'), { recursive: true });
      const model = await TorchTinyNet.fromPretrained(join(dir, 'in'));
      await model.savePretrained(join(dir, 'out'));
      const ours = SafetensorsFile.open(join(dir, 'out', 'model.safetensors'));
      const theirs = SafetensorsFile.open(join(FIXTURE, 'model.safetensors'));
      expect(ours.keys().sort()).toEqual(theirs.keys().sort());
      for (const k of theirs.keys()) {
        expect(ours.info(k).shape).toEqual(theirs.info(k).shape);
        expect(Buffer.compare(ours.readBytes(k), theirs.readBytes(k))).toBe(0);
      }
      ours.close();
      theirs.close();
      model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
