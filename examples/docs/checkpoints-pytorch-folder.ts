import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, GroupNorm, Linear, Module, module, saveSafetensorsSync, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module()
class TinyUNetBlock extends Module {
  conv_in: Conv2d; norm: GroupNorm; proj_out: Linear;      // field names = the checkpoint's names
  constructor(channels: number, outFeatures: number, groups: number) {
    super();
    this.conv_in = new Conv2d(3, channels, 3, { padding: 1 });
    this.norm = new GroupNorm(groups, channels);
    this.proj_out = new Linear(channels, outFeatures);
  }
  forward(x: tf.Tensor): tf.Tensor {                        // x: NHWC
    return this.proj_out.forward(this.norm.forward(this.conv_in.forward(x)));
  }
}

// A diffusers-style folder, as PyTorch writes it: Conv2d weights OIHW, Linear weights [out, in].
const dir = mkdtempSync(join(tmpdir(), 'memhooks-unet-'));
const f32 = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) });
saveSafetensorsSync(join(dir, 'diffusion_pytorch_model.safetensors'), {
  'conv_in.weight': f32([8, 3, 3, 3]), 'conv_in.bias': f32([8]),
  'norm.weight': f32([8]), 'norm.bias': f32([8]),
  'proj_out.weight': f32([4, 8]), 'proj_out.bias': f32([4]),
});
// Written once: the memhooks class and its constructor arguments.
writeFileSync(join(dir, 'config.json'), JSON.stringify({ _class_name: 'TinyUNetBlock', _memhooks_format: 1, args: [8, 4, 2] }));

const unet = await TinyUNetBlock.fromPretrained(dir, { weightsName: 'diffusion_pytorch_model.safetensors' });
const nchw = tf.randomNormal([1, 3, 16, 16]);                // PyTorch's input layout
const x = tf.transpose(nchw, [0, 2, 3, 1]);                 // memhooks computes in NHWC
const y = unet.forward(x);
console.log(y.shape);                                       // [1, 16, 16, 4]
tf.dispose([nchw, x, y]);
unet.dispose();
rmSync(dir, { recursive: true, force: true });
