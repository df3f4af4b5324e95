import { memory, useBackend } from 'memhooks';
import { DiffusionPipeline } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const pipe = DiffusionPipeline.create('tiny', { seed: 0 }); // 'base' is 0.55 GB; the same lines plan it

// What the pipeline needs with every component resident, on the call it will run.
const { result: first, peakDeviceBytes: residentPeak } = memory.track(() => pipe.generate({ steps: 2 }));
first.dispose();

// Over all components at once; the model-offload chain (enableModelCpuOffload) is one more candidate.
const plan = await pipe.planMemory({ deviceBudget: Math.floor(0.75 * residentPeak), sample: () => pipe.generate({ steps: 2 }) });
console.log(plan.chosen.name, plan.candidates.map((c) => c.name).includes('model offload chain')); // e.g. 'model offload chain' true

const handle = plan.apply();
const image = pipe.generate({ steps: 2 });
handle.remove();

image.dispose();
pipe.dispose();
