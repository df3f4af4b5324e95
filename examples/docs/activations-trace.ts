import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DiffusionPipeline } from 'memhooks/zoo';
import { memory, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const pipeline = DiffusionPipeline.create('tiny');
const { textEncoder, denoiser } = pipeline.components;
const ids = tf.zeros([1, 8], 'int32');                  // a prompt's token ids
const context = textEncoder.forward(ids);
const latents = tf.randomNormal([1, 8, 8, 4]);
const t = tf.fill([1], 500);

const trace = memory.trace(() => denoiser.forward(latents, context, t).dispose(), { modules: denoiser });
const dir = mkdtempSync(join(tmpdir(), 'memhooks-trace-'));
writeFileSync(join(dir, 'denoiser.trace.json'), JSON.stringify(trace));
// open https://ui.perfetto.dev → "Open trace file" → denoiser.trace.json (chrome://tracing opens it too)
console.log(trace.traceEvents.length, 'events in', dir);

rmSync(dir, { recursive: true, force: true }); // an example: keep the file when you mean to open it
tf.dispose([ids, context, latents, t]);
pipeline.dispose();
