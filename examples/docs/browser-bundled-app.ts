// A page's main module. Bundled (vite build), 'memhooks' resolves to its browser build.
import * as tf from '@tensorflow/tfjs-core';
// In a page, also import the backend you run on: '@tensorflow/tfjs-backend-webgl', -webgpu or -wasm.
import { Linear, Sequential, applyGroupOffloading, useBackend } from 'memhooks';

// In a page: await useBackend('webgl'). (The docs test runs this file in Node, on cpu and wasm.)
await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Sequential([new Linear(64, 256), new Linear(256, 64)]);

// The host tier works in a page: the weights wait in host memory and are onloaded for each forward.
const handle = applyGroupOffloading(model, { offloadType: 'leaf_level' });
const x = tf.ones([1, 64]);
const y = model.forward(x) as tf.Tensor;
console.log(y.shape); // [1, 64]

handle.remove();
tf.dispose([x, y]);
model.dispose();
