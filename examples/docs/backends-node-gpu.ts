import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applyGroupOffloading, memory, useBackend } from 'memhooks';

// Imports @tensorflow/tfjs-node-gpu; its backend is named 'tensorflow'. (The docs tests run this on cpu and wasm.)
await useBackend(process.env.MEMHOOKS_BACKEND ?? 'tensorflow-gpu');
memory.setDeviceBudget('10GB'); // optional: refuse onloads past what the GPU should hold

const model = new Sequential([new Linear(64, 256), new Linear(256, 64)]);
const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
const x = tf.randomNormal([4, 64]);
const y = model.forward(x) as tf.Tensor; // weights come to the device one layer at a time
console.log(y.shape);

handle.remove();
tf.dispose([x, y]);
model.dispose();
memory.setDeviceBudget(undefined);
