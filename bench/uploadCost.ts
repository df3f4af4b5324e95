import * as tf from '@tensorflow/tfjs-core';
import { median } from './framework.js';

/**
 * The serial cost of moving weights onto the active backend, in ms per MiB: a [1024, 2048] float32 matrix
 * (8 MiB) is uploaded and used once by a one-row matmul, against the same matmul on a matrix already on
 * the device and used before. On wasm this is the copy into the heap plus XNNPACK's packing of the new
 * weight at its first use; on cpu tf.tensor adopts the array, so it is near zero.
 */
export function measureUploadCost(rounds: number): number {
  const rows = 1024;
  const cols = 2048;
  const data = new Float32Array(rows * cols).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const x = tf.ones([1, rows]);
  const resident = tf.tensor2d(data, [rows, cols]);
  // Disposed: a leftover would count in the peaks measured after this (bench/peaks.ts).
  tf.tidy(() => void tf.matMul(x, resident).dataSync());
  const fresh: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    let t0 = performance.now();
    const w = tf.tensor2d(data, [rows, cols]);
    const y = tf.matMul(x, w);
    y.dataSync();
    const tFresh = performance.now() - t0;
    tf.dispose([w, y]);
    t0 = performance.now();
    const z = tf.matMul(x, resident);
    z.dataSync();
    const tWarm = performance.now() - t0;
    z.dispose();
    if (r > 0) {
      fresh.push(tFresh);
      warm.push(tWarm);
    }
  }
  tf.dispose([x, resident]);
  return Math.max(0, median(fresh) - median(warm)) / ((rows * cols * 4) / 2 ** 20);
}
