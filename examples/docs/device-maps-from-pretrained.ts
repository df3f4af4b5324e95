import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, deviceMapHandleOf, module, useBackend } from 'memhooks';

// 'balanced' over cpu and wasm places modules on both backends: both must be initialized first.
await useBackend('cpu'); await useBackend('wasm');        // both initialized; wasm active

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

  // Sizes are small for the example: e.g. { device: '2GB', host: '16GB' } for a real model.
  const model = await Denoiser.fromPretrained(dir, { deviceMap: 'auto', maxMemory: { device: '40KB', host: '1GB' } });
  const model2 = await Denoiser.fromPretrained(dir, { deviceMap: 'balanced', maxMemory: { cpu: '1MB', wasm: '1MB' } });
  const model3 = await Denoiser.fromPretrained(dir, { deviceMap: { '': 'host' } });
  const x = tf.randomNormal([2, 64]);
  for (const m of [model, model2, model3]) {
    tf.dispose(m.forward(x));
    deviceMapHandleOf(m)?.remove();
    m.dispose();
  }
  x.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
