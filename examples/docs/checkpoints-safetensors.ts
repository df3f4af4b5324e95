import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsFile, saveSafetensors, saveSafetensorsSync, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-st-'));
const path = join(dir, 'w.safetensors');
const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);

saveSafetensorsSync(path, { w: { dtype: 'F32', shape: [2, 2], data: bytes } }, { format: 'pt' });
const ones = tf.ones([2, 2]);
await saveSafetensors(path, { w: ones });                  // replaces the file atomically
const file = SafetensorsFile.open(path);                   // reads and validates the header only
console.log(file.keys(), file.metadata(), file.info('w')); // info: { dtype, shape, byteOffset, byteLength }
const raw = file.readBytes('w');                           // one pread of that span
const w = file.read('w');                                  // the same span as a tf.Tensor
console.log(raw.byteLength, w.shape);
file.close();

tf.dispose([ones, w]);
rmSync(dir, { recursive: true, force: true });
