/**
 * The README's quick start: a real tfjs LayersModel (a 2× ESRGAN upscaler from npm) wrapped, group
 * offloaded with prefetch, tiled, and measured. test/examples/quickstart.test.ts runs it on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, applyTiling, memory, wrapLayersModel } from '../src/index.js';
import { loadPretrained } from '../src/zoo.js';

export async function quickstart(imageSide = 256, tileSize = 128): Promise<{ shape: number[]; maxAbsDiff: number; meanAbsDiff: number; peakResident: number; peakHooked: number }> {
  const model = await loadPretrained('upscaler-esrgan-2x'); // any tf.LayersModel works the same way
  const root = wrapLayersModel(model); // a Module tree: one leaf per layer, weights as Parameters
  const image = tf.randomUniform([1, imageSide, imageSide, 3], 0, 255, 'float32', 1);

  const resident = memory.track(() => model.predict(image) as tf.Tensor);

  // Weights wait on the host and come to the device one layer at a time, the next one prefetched;
  // the image runs in tiles (128 pixels) whose overlaps are blended, so activations stay near one tile.
  const offload = applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true });
  const tiling = applyTiling(root, { tileSize, outputScale: 2 });
  const hooked = memory.track(() => model.predict(image) as tf.Tensor);

  const [maxAbsDiff, meanAbsDiff] = tf.tidy(() => {
    const d = tf.abs(tf.sub(hooked.result, resident.result));
    return [tf.max(d).dataSync()[0]!, tf.mean(d).dataSync()[0]!];
  });
  const result = { shape: hooked.result.shape, maxAbsDiff: maxAbsDiff!, meanAbsDiff: meanAbsDiff!, peakResident: resident.peakDeviceBytes, peakHooked: hooked.peakDeviceBytes };
  tiling.remove(); // every strategy comes off exactly; the model is as it was
  offload.remove();
  tf.dispose([image, resident.result, hooked.result]);
  model.dispose();
  return result;
}
