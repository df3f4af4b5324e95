import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { inject } from 'vitest';

/**
 * A fresh instance of the real upscaler (upscaler-esrgan-2x) in a browser-suite page: its model.json and weights
 * come over HTTP from the vite server, where test/helpers/browserGlobalSetup.ts put them, as an app's would.
 */
export function loadPageUpscaler(): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(inject('upscalerUrl'));
}

/** A seeded image for the upscaler (pixels 0–255), `size`×`size`. */
export function upscalerInput(size: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([1, size, size, 3], 0, 255, 'float32', seed);
}

/**
 * A tensor's float32 bits, read asynchronously. In a page every read is async: on webgpu a synchronous read
 * (dataSync) goes through an OffscreenCanvas and, under SwiftShader, loses the device a moment later.
 */
export async function bitsOf(t: tf.Tensor): Promise<Uint32Array> {
  return new Uint32Array(Float32Array.from((await t.data()) as Float32Array).buffer);
}

/**
 * The output of an untouched instance of the upscaler for `x`, as float32 bits: the reference a strategy must match.
 * A second instance, so that the model under test never computes before its strategy is applied: its weights are
 * still on the host side of the backend then, and moving them needs no read from the GPU (see bitsOf).
 */
export async function referenceBits(x: tf.Tensor): Promise<Uint32Array> {
  const model = await loadPageUpscaler();
  const out = model.predict(x) as tf.Tensor;
  const bits = await bitsOf(out);
  out.dispose();
  model.dispose();
  return bits;
}
