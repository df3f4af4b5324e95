import * as tf from '@tensorflow/tfjs-core';
import { memory, useBackend } from 'memhooks';

// 'cpu', 'wasm', 'tensorflow' (tfjs-node) or 'tensorflow-gpu' (tfjs-node-gpu); imports the package if needed.
await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
console.log(tf.getBackend(), memory.stats()); // e.g. wasm { deviceBytes: 0, …, wasmHeapBytes: 16777216 }
