import * as tf from '@tensorflow/tfjs-core';
import { applyTiling, useBackend, wrapLayersModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const upscaler = await loadPretrained('upscaler-esrgan-2x'); // a tfjs LayersModel
const photo = tf.randomUniform([1, 32, 32, 3], 0, 255);      // small for the example; big photos are the point
const root = wrapLayersModel(upscaler);                      // hooks run inside predict
{
  using _handle = applyTiling(root, { tileSize: 16, tileOverlap: 0.25, outputScale: 2 });
  const big = upscaler.predict(photo) as tf.Tensor;          // [1, 64, 64, 3], computed 16×16 input pixels at a time
  console.log(big.shape);
  big.dispose();
}
photo.dispose();
upscaler.dispose();
