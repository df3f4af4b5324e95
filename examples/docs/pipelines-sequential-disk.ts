import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, applySequentialOffload, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = new Sequential([new Linear(16, 64), new Linear(64, 16)]);
const dir = mkdtempSync(join(tmpdir(), 'memhooks-offload-')); // e.g. '/var/tmp/offload'

const handle = applySequentialOffload(model, { offloadToDiskPath: dir });
const x = tf.randomNormal([2, 16]);
const y = model.forward(x) as tf.Tensor; // each module reads its file, runs, drops its weights
handle.remove();                         // reads every file back, then deletes them

tf.dispose([x, y]);
model.dispose();
rmSync(dir, { recursive: true, force: true });
