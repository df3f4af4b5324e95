import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { checkpointTensors, openCheckpoint, saveShardedCheckpoint, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const dir = mkdtempSync(join(tmpdir(), 'memhooks-ckpt-'));
const [a, b] = [tf.randomNormal([64, 64]), tf.randomNormal([64])];
saveShardedCheckpoint({ 'a.weight': a, 'b.bias': b }, dir, { maxShardSize: '8KB' });

const ckpt = openCheckpoint(dir);                         // validates the index, reads no shard
for (const { name, info, file } of checkpointTensors(ckpt)) {
  const bytes = file.readBytes(name);                      // just this tensor's span
  console.log(name, info.dtype, info.shape, bytes.byteLength);
}

tf.dispose([a, b]);
rmSync(dir, { recursive: true, force: true });
