/**
 * What `memhooks plan` and the planner benchmark plan: a zoo pipeline (pipeline.planMemory over its components,
 * with the model-offload chain) or a catalog model (planMemory on the wrapped model), each with the one call the
 * plan is made on.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../models/Module.js';
import { wrapGraphModel } from '../adapters/graph-model/wrapGraphModel.js';
import { wrapLayersModel } from '../adapters/layers-model/wrapLayersModel.js';
import type { MemoryPlan, PlanMemoryOptions } from '../pipelines/planSlot.js';
import { planMemory } from '../planner/index.js';
import { isGraphFormat, PRETRAINED_MODELS, PRETRAINED_NAMES, type GraphPretrainedName, type LayersPretrainedName, type PretrainedName } from '../zoo/catalog.js';
import { DiffusionPipeline } from '../zoo/diffusion/DiffusionPipeline.js';
import { DIFFUSION_SIZE_NAMES } from '../zoo/diffusion/sizes.js';
import { loadPretrained } from '../zoo/loadPretrained.js';
import { zooSizeOf } from './choices.js';
import { UsageError } from './io.js';

/** The planner's options without the sample: the subject brings its own. */
export type SubjectPlanOptions = Omit<PlanMemoryOptions, 'sample'>;

export interface PlanSubject {
  /** 'zoo:small', 'upscaler-esrgan-2x', ... */
  readonly label: string;
  /** The call the plan is made on, in words ("one generate(), 2 steps", "one predict of a 64² image"). */
  readonly call: string;
  /** Bytes of every weight of the subject. */
  readonly weightBytes: number;
  /** Bytes of the subject's weights on the device now: the planner counts peaks above the other device bytes. */
  deviceWeightBytes(): number;
  /** The representative call; its result is the caller's to dispose (it may be a Promise). */
  sample(): unknown;
  plan(options: SubjectPlanOptions): Promise<MemoryPlan>;
  dispose(): void;
}

export interface PlanSubjectOptions {
  /** Denoising steps of a zoo pipeline's sample (default 2). */
  steps?: number;
  /** Side of the image fed to a catalog model whose input size is free (default 64). */
  side?: number;
}

/** How the command names what it takes, for help and errors. */
export function planModelsHelp(): string {
  return `a zoo pipeline (${DIFFUSION_SIZE_NAMES.map((s) => `zoo:${s}`).join(', ')}) or a catalog model (${PRETRAINED_NAMES.join(', ')})`;
}

const bytesOf = (roots: readonly Module[]): number => roots.reduce((n, r) => n + r.parameters().reduce((b, p) => b + p.byteLength, 0), 0);
const onDevice = (roots: readonly Module[]) => (): number => roots.reduce((n, r) => n + r.memoryFootprint().device, 0);

function zooSubject(size: NonNullable<ReturnType<typeof zooSizeOf>>, steps: number): PlanSubject {
  const pipe = DiffusionPipeline.create(size, { seed: 0 });
  const sample = (): tf.Tensor => pipe.generate({ steps, seed: 7 });
  return {
    label: `zoo:${size}`,
    call: `one generate() of the zoo pipeline, ${steps} steps`,
    weightBytes: bytesOf(Object.values(pipe.components)),
    deviceWeightBytes: onDevice(Object.values(pipe.components)),
    sample,
    plan: (options) => pipe.planMemory({ ...options, sample }),
    dispose: () => pipe.dispose(),
  };
}

/** The model's input: free dimensions are one image (batch) and `side` pixels; values as the model expects them. */
function inputFor(name: PretrainedName, side: number): tf.Tensor {
  const spec = PRETRAINED_MODELS[name];
  const shape = spec.inputShape.map((d, i) => d ?? (i === 0 ? 1 : side));
  if ('inputDtype' in spec && spec.inputDtype === 'int32') return tf.randomUniform(shape, 0, 255, 'int32', 1);
  return tf.randomUniform(shape, 0, name === 'upscaler-esrgan-2x' ? 255 : 1, 'float32', 1);
}

async function catalogSubject(name: PretrainedName, side: number): Promise<PlanSubject> {
  const spec = PRETRAINED_MODELS[name];
  const x = inputFor(name, side);
  const shape = `${x.shape.join('×')}`;
  if (isGraphFormat(spec.format)) {
    const model = await loadPretrained(name as GraphPretrainedName);
    const root = wrapGraphModel(model);
    const sample = 'run' in spec && spec.run === 'executeAsync' ? () => model.executeAsync(x) : () => model.execute(x);
    return {
      label: name,
      call: `one ${'run' in spec ? spec.run : 'execute'} of a ${shape} input`,
      weightBytes: bytesOf([root]),
      deviceWeightBytes: onDevice([root]),
      sample,
      plan: (options) => planMemory(root, { ...options, sample }),
      dispose: () => (x.dispose(), model.dispose()),
    };
  }
  const model = await loadPretrained(name as LayersPretrainedName);
  const root = wrapLayersModel(model);
  const sample = (): tf.Tensor => model.predict(x) as tf.Tensor;
  return {
    label: name,
    call: `one predict of a ${shape} input`,
    weightBytes: bytesOf([root]),
    deviceWeightBytes: onDevice([root]),
    sample,
    plan: (options) => planMemory(root, { ...options, sample }),
    dispose: () => (x.dispose(), model.dispose()),
  };
}

/** The subject named on the command line; an unknown name is a usage error listing the known ones. */
export async function loadPlanSubject(model: string, options: PlanSubjectOptions = {}): Promise<PlanSubject> {
  const size = zooSizeOf(model);
  if (size !== undefined) return zooSubject(size, options.steps ?? 2);
  if ((PRETRAINED_NAMES as readonly string[]).includes(model)) return catalogSubject(model as PretrainedName, options.side ?? 64);
  throw new UsageError(`"${model}" is no zoo pipeline or catalog model. Give ${planModelsHelp()}.`);
}
