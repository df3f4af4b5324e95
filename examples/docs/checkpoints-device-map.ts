import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, deviceMapHandleOf, module, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module()
class Denoiser extends Module {
  blocks: ModuleList<Linear>;
  constructor(readonly width: number, readonly options: { depth: number }) {
    super();
    this.blocks = new ModuleList(Array.from({ length: options.depth }, () => new Linear(width, width)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    for (const block of this.blocks) x = tf.relu(block.forward(x));
    return x;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'memhooks-denoiser-'));
try {
  const saved = new Denoiser(64, { depth: 4 });
  await saved.savePretrained(dir);
  saved.dispose();

  const model = await Denoiser.fromPretrained(dir, {
    deviceMap: 'auto',
    maxMemory: { device: '40KB', host: '1GB' },                   // e.g. { device: '2GB', host: '16GB' }
  });
  const x = tf.randomNormal([2, 64]);
  const y = model.forward(x);                                    // blocks past 40 KB run from the host
  deviceMapHandleOf(model)?.remove(); // detach the hooks the map implied (weights stay where they are)
  tf.dispose([x, y]);
  model.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
