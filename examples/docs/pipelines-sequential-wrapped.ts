import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applySequentialOffload, useBackend, wrapLayersModel } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 32, activation: 'relu' }), tfl.layers.dense({ units: 4 })] });
const x = tf.randomNormal([2, 8]);

const root = wrapLayersModel(model);
const handle = applySequentialOffload(root);
const y = model.predict(x) as tf.Tensor;   // bitwise the resident output
handle.remove();

tf.dispose([x, y]);
model.dispose();
