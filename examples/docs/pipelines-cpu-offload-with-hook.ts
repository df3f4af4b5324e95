import * as tf from '@tensorflow/tfjs-core';
import { cpuOffloadWithHook, useBackend } from 'memhooks';
import { createDiffusionComponents } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const { textEncoder, denoiser, vae } = createDiffusionComponents('tiny');
const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32');
const x = tf.randomNormal([1, 8, 8, 4]);
const t = tf.fill([1], 500);

const enc = cpuOffloadWithHook(textEncoder);
const den = cpuOffloadWithHook(denoiser, { prevModuleHook: enc });
const ctx = textEncoder.forward(ids); // textEncoder onloaded
const y = denoiser.forward(x, ctx, t); // textEncoder offloaded first, then denoiser onloaded (and kept)
den.offload();                        // end of the run
den.remove(); enc.remove();           // weights back on the device, hooks gone

tf.dispose([ids, x, t, ctx, y]);
for (const m of [textEncoder, denoiser, vae]) m.dispose();
