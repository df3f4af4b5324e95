import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DIFFUSION_SIZES, VaeDecoder } from 'memhooks/zoo';
import { useBackend } from 'memhooks';
import { TextToImage, createTextToImage } from './pipelines-text-to-image.js'; // the TextToImage pipeline above

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const { pipe, ids } = createTextToImage();
const dir = mkdtempSync(join(tmpdir(), 'memhooks-pipeline-'));
try {
  await pipe.savePretrained(dir, { maxShardSize: '2GB' });
  const again = await TextToImage.fromPretrained(dir);
  const myVae = new VaeDecoder(DIFFUSION_SIZES.tiny.vae);
  const withMyVae = await TextToImage.fromPretrained(dir, { components: { vae: myVae } });
  const mapped = await TextToImage.fromPretrained(dir, {
    componentOptions: { denoiser: { deviceMap: 'auto', maxMemory: { device: '1GB', host: '8GB' } } },
  });
  for (const p of [again, withMyVae, mapped]) {
    tf.dispose(p.generate(ids, 1));
    p.dispose();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  ids.dispose();
  pipe.dispose();
}
