import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { deviceMapHandleOf, useBackend } from 'memhooks';
import { Denoiser } from './checkpoints-denoiser.js';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

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
