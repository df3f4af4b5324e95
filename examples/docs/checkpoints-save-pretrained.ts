import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, module, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module()                                   // registers the class and records its constructor arguments
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
const model = new Denoiser(64, { depth: 4 });
await model.savePretrained(dir, { maxShardSize: '40KB' }); // e.g. '2GB' for a real model
console.log(readdirSync(dir)); // config.json, the shards and their index
model.dispose();
rmSync(dir, { recursive: true, force: true });
