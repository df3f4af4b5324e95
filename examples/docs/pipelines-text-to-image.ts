import * as tf from '@tensorflow/tfjs-core';
import { Pipeline } from 'memhooks';
import { createDiffusionComponents, type FluxDenoiser, type VaeDecoder, type ZooTextEncoder } from 'memhooks/zoo';

// The zoo's seeded components stand in for yours: any Modules work.
interface Components { textEncoder: ZooTextEncoder; denoiser: FluxDenoiser; vae: VaeDecoder }

export class TextToImage extends Pipeline<Components> {
  // The order the components run in: model offload chains them in this order.
  static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae';
  // Components model and sequential offload leave alone (diffusers' _exclude_from_cpu_offload).
  static override excludeFromCpuOffload = [];

  generate(ids: tf.Tensor, steps: number): tf.Tensor {
    const { textEncoder, denoiser, vae } = this.components;        // typed
    const image = tf.tidy(() => {
      const context = textEncoder.forward(ids);
      let latents = tf.randomNormal([1, 8, 8, 4]);
      for (let i = 0; i < steps; i++) latents = denoiser.forward(latents, context, tf.fill([1], 1000 * (1 - i / steps)));
      return vae.forward(latents);
    });
    this.maybeFreeModelHooks();   // end of a run: nothing left on the device, chain re-armed
    return image;
  }

  /** Releases every component's weights. */
  dispose(): void {
    this.removeAllHooks();
    for (const m of Object.values(this.components)) m.dispose();
  }
}

/** A small pipeline and a prompt's token ids, for the examples of docs/pipelines.md. */
export function createTextToImage(): { pipe: TextToImage; ids: tf.Tensor } {
  const { textEncoder, denoiser, vae } = createDiffusionComponents('tiny');
  const pipe = new TextToImage({ textEncoder, denoiser, vae });
  return { pipe, ids: tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8]], [1, 8], 'int32') };
}
