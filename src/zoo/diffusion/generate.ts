import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import type { DiffusionComponents } from './components.js';

export interface GenerateOptions {
  /** Euler steps of the flow-matching sampler (default 4). */
  steps?: number;
  /** Images per call (default 1). */
  batch?: number;
  /** Seed of the prompt tokens and the initial noise (default 0). */
  seed?: number;
  /** Prompt length in tokens (default 16). */
  promptTokens?: number;
  /** Side of the square latent (default 16). */
  latentSize?: number;
  /** Called after each denoising step (e.g. to free or time it). */
  onStep?: (step: number) => void;
}

/**
 * Text → image with a flow-matching Euler sampler, as Flux pipelines do: encode the prompt once, start
 * from seeded noise at σ = 1, and for each step move the latent along the predicted velocity,
 * x ← x + (σ_next − σ)·v(x, σ), down to σ = 0; then decode the latent with the VAE.
 * Returns the image [batch, H, W, 3]; every intermediate is released.
 */
export function generateImage(components: DiffusionComponents, options: GenerateOptions = {}): tf.Tensor {
  const { steps = 4, batch = 1, seed = 0, promptTokens = 16, latentSize = 16, onStep } = options;
  for (const [name, value] of Object.entries({ steps, batch, promptTokens, latentSize })) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`generateImage: \`${name}\` must be a positive integer, got ${String(value)}.`);
  }
  const { textEncoder, denoiser, vae } = components;
  const vocab = textEncoder.config.vocabSize;
  const context = tf.tidy(() => {
    const ids = tf.cast(tf.floor(tf.randomUniform([batch, promptTokens], 0, vocab, 'float32', seed)), 'int32');
    return textEncoder.forward(ids) as tf.Tensor;
  });
  let latents = tf.randomNormal([batch, latentSize, latentSize, denoiser.config.inChannels], 0, 1, 'float32', seed + 1);
  try {
    for (let i = 0; i < steps; i++) {
      const sigma = 1 - i / steps;
      const next = 1 - (i + 1) / steps;
      const stepped = tf.tidy(() => {
        const v = denoiser.forward(latents, context, tf.fill([batch], sigma * 1000)) as tf.Tensor;
        return tf.add(latents, tf.mul(v, next - sigma));
      });
      latents.dispose();
      latents = stepped;
      onStep?.(i);
    }
    return vae.forward(latents) as tf.Tensor;
  } finally {
    latents.dispose();
    context.dispose();
  }
}
