import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { deviceMapHandleOf, useBackend } from 'memhooks';
import { Denoiser } from './checkpoints-denoiser.js';

// 'balanced' over cpu and wasm places modules on both backends: both must be initialized first.
await useBackend('cpu'); await useBackend('wasm');        // both initialized; wasm active

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
