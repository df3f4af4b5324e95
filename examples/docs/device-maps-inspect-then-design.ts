import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, defaultMaxMemory, deviceMapHandleOf, dispatchModel, module, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module()
class Transformer extends Module {
  proj_in: Linear;
  transformer_blocks: ModuleList<Linear>;
  proj_out: Linear;
  constructor(readonly width: number, readonly depth: number) {
    super();
    this.proj_in = new Linear(width, width);
    this.transformer_blocks = new ModuleList(Array.from({ length: depth }, () => new Linear(width, width)));
    this.proj_out = new Linear(width, width);
  }
  forward(x: tf.Tensor): tf.Tensor {
    x = this.proj_in.forward(x);
    for (const block of this.transformer_blocks) x = tf.relu(block.forward(x)); // the list itself is never called
    return this.proj_out.forward(x);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'memhooks-transformer-'));
try {
  const saved = new Transformer(64, 6);
  await saved.savePretrained(dir);
  saved.dispose();

  // 1. Load with 'auto'. Without maxMemory it fills the device budget in force, else the host's free memory:
  console.log(defaultMaxMemory()); // { device: { bytes, source: 'wasm default budget' | 'device budget' | 'free host memory' }, host: { … } }
  const transformer = await Transformer.fromPretrained(dir, { deviceMap: 'auto', maxMemory: { device: '60KB', host: '1GB' } });

  // 2. See how the layers were placed (transformers' model.hf_device_map).
  console.log(transformer.hfDeviceMap); // { proj_in: 'device', 'transformer_blocks.0': 'device', 'transformer_blocks.1': 'host', …, proj_out: 'host' }

  // 3. Design your own map from it: here the whole block list on the host, the projections on the device.
  const mine: Record<string, string> = { ...transformer.hfDeviceMap, proj_in: 'device', transformer_blocks: 'host', proj_out: 'device' };
  for (const key of Object.keys(mine)) if (key.startsWith('transformer_blocks.')) delete mine[key];
  deviceMapHandleOf(transformer)?.remove(); // back to where fromPretrained loaded the weights; hfDeviceMap is undefined again
  const handle = dispatchModel(transformer, mine); // every block under 'transformer_blocks' follows the entry
  console.log(transformer.hfDeviceMap); // { proj_in: 'device', proj_out: 'device', transformer_blocks: 'host' }

  const x = tf.randomNormal([2, 64]);
  tf.dispose(transformer.forward(x));
  handle.remove();
  x.dispose();
  transformer.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
