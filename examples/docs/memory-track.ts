import * as tf from '@tensorflow/tfjs-core';
import { Linear, memory, useBackend } from 'memhooks'; // import memhooks before creating tensors

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Linear(256, 256);
const x = tf.randomNormal([8, 256]);

console.log(memory.stats()); // { deviceBytes, peakDeviceBytes, hostBytes, diskBytes, wasmHeapBytes? }

memory.resetPeak();
const { result, peakDeviceBytes } = memory.track(() => model.forward(x));
console.log(peakDeviceBytes); // absolute device bytes at the peak during the call

tf.dispose([x, result]);
model.dispose();
