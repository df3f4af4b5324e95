import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadShardedCheckpoint, saveShardedCheckpoint, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-ckpt-'));
const ckptDir = join(dir, 'ckpt'); // created if missing
const tensor = tf.randomNormal([64, 64]);
const bytes = new Uint8Array(8);   // four float16 values

saveShardedCheckpoint({ 'a.weight': tensor, 'b.weight': { dtype: 'F16', shape: [4], data: bytes } }, ckptDir, { maxShardSize: '1GB' });
const weights = loadShardedCheckpoint(ckptDir);          // Map<string, tf.Tensor>; dispose them when done
console.log([...weights.keys()]);
tf.dispose([...weights.values()]);

tensor.dispose();
rmSync(dir, { recursive: true, force: true });
