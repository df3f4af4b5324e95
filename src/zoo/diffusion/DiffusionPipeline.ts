import type * as tf from '@tensorflow/tfjs-core';
import { Pipeline } from '../../pipelines/Pipeline.js';
import type { MemoryPlan, PipelinePlanOptions } from '../../pipelines/planMemory.js';
import { createDiffusionComponents, type CreateDiffusionOptions, type DiffusionComponents } from './components.js';
import { generateImage, type GenerateOptions } from './generate.js';
import { DIFFUSION_SIZES, type DiffusionSizeName } from './sizes.js';

/**
 * The zoo's text-to-image pipeline: text encoder → denoiser (a flow-matching Euler loop) → VAE decoder.
 * Every pipeline-level switch of `Pipeline` applies (model, sequential and group offload, casting,
 * VAE slicing and tiling, memory-efficient attention).
 *
 * @example
 * const pipe = DiffusionPipeline.create('small', { tier: 'host' });
 * pipe.enableGroupOffload({ offloadType: 'leaf_level', useStream: true });
 * const image = pipe.generate({ steps: 4 });
 */
export class DiffusionPipeline extends Pipeline<DiffusionComponents> {
  static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae';

  /** The latent size and prompt length generate() uses unless told otherwise. */
  defaults: Pick<GenerateOptions, 'latentSize' | 'promptTokens'> = {};

  /**
   * The pipeline of a zoo size with seeded weights, generated straight into `options.tier`: with
   * `{ tier: 'disk', dir }` each component's weights are written under `dir/<component>` as they are made
   * (host memory holds one shard at a time), and stay there after dispose(): the folder is the caller's.
   * Group offloading (enableGroupOffload) runs such a pipeline; model and sequential offload refuse it.
   */
  static create(size: DiffusionSizeName, options: CreateDiffusionOptions = {}): DiffusionPipeline {
    const pipe = new DiffusionPipeline(createDiffusionComponents(size, options));
    const { latentSize, promptTokens } = DIFFUSION_SIZES[size];
    pipe.defaults = { latentSize, promptTokens };
    return pipe;
  }

  /** One image per batch entry, [batch, H, W, 3]; then frees the model hooks as diffusers pipelines do. */
  generate(options: GenerateOptions = {}): tf.Tensor {
    try {
      return generateImage(this.components, { ...this.defaults, ...options });
    } finally {
      this.maybeFreeModelHooks();
    }
  }

  /** pipeline.planMemory, planned on one generate() with the pipeline's defaults unless `sample` says otherwise. */
  override planMemory(options: PipelinePlanOptions): Promise<MemoryPlan> {
    return super.planMemory({ sample: () => this.generate(), ...options });
  }

  /** Releases every component's weights. */
  dispose(): void {
    this.removeAllHooks();
    for (const m of Object.values(this.components)) m.dispose();
  }
}
