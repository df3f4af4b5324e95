// A dedicated Worker's module, started by a page served with COOP/COEP (cross-origin isolated):
// new Worker(new URL('./model-worker.ts', import.meta.url), { type: 'module' }). Bundled, 'memhooks' resolves to its
// browser build, whose files are the Origin Private File System.
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applyGroupOffloading, memory, useBackend } from 'memhooks';

// useBackend also waits for memhooks' OPFS server to boot (without useBackend: await opfsReady()).
// (The docs test runs this file in Node, on cpu and wasm, where the folder is on the disk.)
await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Sequential([new Linear(64, 256), new Linear(256, 64)]);

// A folder of OPFS: paths are POSIX from its root, a relative one resolves against '/'.
const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', offloadToDiskPath: 'memhooks-offload' });
console.log(model.memoryFootprint()); // { device: 0, host: 0, disk: <every byte> }
// In a page: the origin's storage as last estimated, { usageBytes, quotaBytes, measuredAt }.
console.log(memory.stats().storage);

const x = tf.ones([1, 64]);
const y = model.forward(x) as tf.Tensor;
console.log(y.shape); // [1, 64]

handle.remove(); // deletes the files, and the folder memhooks made
tf.dispose([x, y]);
model.dispose();
