import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applyGroupOffloading, memory, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Sequential([new Linear(64, 256), new Linear(256, 256), new Linear(256, 64)]);
const x = tf.randomNormal([4, 64]);
const resident = model.forward(x) as tf.Tensor;

const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
console.log(model.memoryFootprint());     // { device: 0, host: <every weight byte>, disk: 0 }
const { result, peakDeviceBytes } = memory.track(() => model.forward(x) as tf.Tensor);
// Bitwise the same output; on the device: one layer (+ the prefetched one) at a time.
const same = tf.tidy(() => tf.all(tf.equal(result, resident)).dataSync()[0] === 1);
console.log(same, peakDeviceBytes); // true, and about two layers' weights above the input
handle.remove();                          // every weight back on the device, hooks gone

tf.dispose([x, resident, result]);
model.dispose();
