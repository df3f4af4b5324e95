import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from 'memhooks';
import { TextToImage, createTextToImage } from './pipelines-text-to-image.js'; // the TextToImage pipeline above

await useBackend('cpu'); await useBackend('wasm');   // both initialized; wasm active
const { pipe: saved, ids } = createTextToImage();
const dir = mkdtempSync(join(tmpdir(), 'memhooks-pipeline-'));
await saved.savePretrained(dir);
saved.dispose();

const pipe = await TextToImage.fromPretrained(dir, {
  deviceMap: 'balanced',
  maxMemory: { wasm: '2GB', cpu: '1GB', host: '16GB' },
});
console.log(pipe.hfDeviceMap);   // e.g. { denoiser: 'wasm', vae: 'cpu', textEncoder: 'cpu' }: largest first, snake order
tf.dispose(pipe.generate(ids, 1));
pipe.resetDeviceMap();
pipe.enableModelCpuOffload();
tf.dispose(pipe.generate(ids, 1));

pipe.dispose();
ids.dispose();
rmSync(dir, { recursive: true, force: true });
