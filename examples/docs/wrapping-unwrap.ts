import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyGroupOffloading, appliedStrategies, unwrapLayersModel, useBackend, wrapLayersModel } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 16, activation: 'relu' }), tfl.layers.dense({ units: 4 })] });
const root = wrapLayersModel(model);
const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' });

unwrapLayersModel(model);
console.log(handle.removed, appliedStrategies(root)); // true []: every strategy came off first

const x = tf.randomNormal([2, 8]);
const y = model.predict(x) as tf.Tensor;             // the same bits as before wrapping
tf.dispose([x, y]);
model.dispose();
