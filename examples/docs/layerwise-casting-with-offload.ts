import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applyGroupOffloading, applyLayerwiseCasting, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const x = tf.randomNormal([4, 64]);
const dir = mkdtempSync(join(tmpdir(), 'memhooks-offload-'));
try {
  for (const offloadToDiskPath of [undefined, dir]) { // host memory, then disk
    const model = new Sequential([new Linear(64, 256), new Linear(256, 64)]);
    const cast = applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn' }); // casting first,
    const offload = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath }); // then offloading
    const y = model.forward(x) as tf.Tensor; // host copies and transfers are fp8 codes: a quarter of float32
    console.log(offloadToDiskPath ?? 'host', y.shape);
    y.dispose();
    offload.remove(); // remove in reverse order
    cast.remove();
    model.dispose();
  }
} finally {
  x.dispose();
  rmSync(dir, { recursive: true, force: true });
}
