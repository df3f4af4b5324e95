import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { describeValue } from '../paths.js';

/**
 * How a Linear keeps its weight on the device: 'in_out' is tfjs' Dense kernel [in, out], 'out_in' is
 * PyTorch's [out, in] (computed with transposeB). Which is faster depends on the backend's matmul:
 *
 * - wasm (XNNPACK) packs a [in, out] right operand for its GEMM; with transposeB it falls back to a slow
 *   path, measured 12× slower (`memhooks bench layers`).
 * - cpu's matmul walks the shared dimension of the right operand in its innermost loop: with [out, in] and
 *   transposeB that walk is contiguous, measured 1.2–1.3× faster than [in, out] at batches 1 to 512.
 * - GPU backends and tfjs-node run both in their vendor GEMMs; [in, out] is what Dense uses there.
 */
export type LinearLayout = 'in_out' | 'out_in';

/** Backends that compute a Linear fastest from PyTorch's [out, in] weight. Add a backend's name to change it. */
export const OUT_IN_LINEAR_BACKENDS = new Set<string>(['cpu']);

/** The layout a Linear built now takes: the active backend's fastest (chosen once, at construction). */
export function preferredLinearLayout(backend: string = tf.getBackend()): LinearLayout {
  return OUT_IN_LINEAR_BACKENDS.has(backend) ? 'out_in' : 'in_out';
}

export function checkLinearLayout(layout: unknown, where: string): LinearLayout {
  if (layout !== 'in_out' && layout !== 'out_in') {
    throw new InvalidArgumentError(`${where}: \`layout\` must be 'in_out' or 'out_in' (or left out for the backend's fastest), got ${typeof layout === 'string' ? JSON.stringify(layout) : describeValue(layout)}.`);
  }
  return layout;
}
