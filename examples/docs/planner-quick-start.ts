import * as tf from '@tensorflow/tfjs-core';
import { Linear, Sequential, planMemory, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
// 8 layers of 512×512 float32: 8.4 MB of weights (think of a 2 GB model and a '300MB' budget).
const model = new Sequential(Array.from({ length: 8 }, () => new Linear(512, 512)));
const x = tf.randomNormal([16, 512]);

// Half of what the model needs resident: the planner measures the sample, predicts every candidate, picks the fastest that fits.
const plan = await planMemory(model, { deviceBudget: '5MB', sample: () => model.forward(x) });
console.log(plan.describe()); // the choice, its predicted peak and time, and why; then every candidate in a table

const checked = await plan.verify(); // applies it, runs the sample, measures, takes it off again
console.log(checked.measured.peakDeviceBytes <= plan.deviceBudget, checked.bitwise); // true true

const handle = plan.apply(); // run with the plan for as long as you need it
const y = model.forward(x) as tf.Tensor;
handle.remove(); // every strategy of the plan off, every weight back on the device

tf.dispose([x, y]);
model.dispose();
