import * as tf from '@tensorflow/tfjs-core';
import { applyBatchSlicing, applyGroupOffloading, applyTiling, memory, unwrapGraphModel, useBackend, wrapGraphModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('selfie-human');             // a segmentation GraphModel that takes 1×256×256 only
const root = wrapGraphModel(model);

// The root takes the model's own arguments: tiling cuts the photo into 256² tiles and runs the graph once per tile.
const offload = applyGroupOffloading(root, { offloadType: 'leaf_level' }); // optional: each tile onloads its leaves
const tiling = applyTiling(root, { tileSize: 256, tileOverlap: 0.25 });
const photo = tf.randomUniform([1, 448, 448, 3]);
const { result: mask, peakDeviceBytes } = memory.track(() => model.execute(photo) as tf.Tensor);
console.log(mask.shape, (peakDeviceBytes / 2 ** 20).toFixed(1)); // [ 1, 448, 448, 1 ] '7.0' MiB: the photo and one tile's work

// Batch slicing runs a batch one image at a time, as the graph's signature asks.
const slicing = applyBatchSlicing(root, { sliceSize: 1 });
const batch = tf.randomUniform([3, 256, 256, 3]);
const masks = model.predict(batch) as tf.Tensor;                // predict, execute and executeAsync alike
console.log(masks.shape);                                       // [ 3, 256, 256, 1 ]

slicing.remove();
tiling.remove();
offload.remove();
unwrapGraphModel(model);
tf.dispose([photo, mask, batch, masks]);
model.dispose();
