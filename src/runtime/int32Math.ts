import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether a backend computes and stores int32 tensors exactly. tfjs' `webgl` keeps every tensor in float32
 * textures and `webgpu` runs its int32 ops through f32, so there an int32 is exact only below 2^24: a word
 * of four packed fp8 codes or two bf16 codes is rounded as soon as the GPU touches it (measured in Chromium:
 * `tf.add(words, 0)` changed 3,948 of 4,096 random words on both, test/browser/casting-exact.test.ts).
 * Layerwise casting therefore keeps the host's words as the truth on those backends and never decodes on
 * the device there.
 */
export function int32IsExact(backend: string = tf.getBackend()): boolean {
  return backend !== 'webgl' && backend !== 'webgpu';
}
