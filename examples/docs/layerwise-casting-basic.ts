import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applyLayerwiseCasting, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Sequential([new Linear(64, 256), new Linear(256, 64)]);
const x = tf.randomNormal([4, 64]);

const handle = applyLayerwiseCasting(model, { storageDtype: 'bfloat16' });
const y = model.forward(x) as tf.Tensor; // each cast layer decodes its weights, runs, and drops the float32 copy
console.log(model.memoryFootprint());    // half the float32 bytes
handle.remove();                         // float32 storage again, holding the bf16-rounded values

tf.dispose([x, y]);
model.dispose();
