import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, module, useBackend } from 'memhooks';

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

  const model = await Denoiser.fromPretrained(dir);               // everything on the device
  const any = await Module.fromPretrained(dir);                   // any registered class
  for (const m of [model, any]) m.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
