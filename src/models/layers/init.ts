import * as tf from '@tensorflow/tfjs-core';
import { parameterInit } from '../initContext.js';
import { Parameter } from '../Parameter.js';

/**
 * PyTorch's default init for Linear and conv layers: kaiming_uniform(a=√5) for the weight and
 * uniform(−1/√fanIn, 1/√fanIn) for the bias, which both come down to uniform(−1/√fanIn, 1/√fanIn).
 */
export function uniformParameter(shape: number[], fanIn: number, options: { transposed?: boolean } = {}): Parameter {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  // `transposed` (rank 2): stored as [cols, rows], with the seeded values drawn in [rows, cols] order, so that a
  // Linear holds the same weights whichever layout its backend keeps them in.
  const stored = options.transposed === true ? [shape[1]!, shape[0]!] : shape;
  const init = parameterInit();
  if (init === undefined) return new Parameter(tf.randomUniform(stored, -bound, bound, 'float32'));
  const data = init.alloc(sizeOf(shape));
  if (options.transposed === true) {
    const [rows, cols] = shape as [number, number];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = (2 * init.random() - 1) * bound;
  } else {
    for (let i = 0; i < data.length; i++) data[i] = (2 * init.random() - 1) * bound;
  }
  return init.place(data, stored);
}

export function onesParameter(shape: number[]): Parameter {
  const init = parameterInit();
  return init === undefined ? new Parameter(tf.ones(shape, 'float32')) : init.place(init.alloc(sizeOf(shape)).fill(1), shape);
}

export function zerosParameter(shape: number[]): Parameter {
  const init = parameterInit();
  return init === undefined ? new Parameter(tf.zeros(shape, 'float32')) : init.place(init.alloc(sizeOf(shape)), shape);
}

/** Standard normal values (Embedding's init, as torch.nn.Embedding). */
export function normalParameter(shape: number[]): Parameter {
  const init = parameterInit();
  if (init === undefined) return new Parameter(tf.randomNormal(shape, 0, 1, 'float32'));
  const data = init.alloc(sizeOf(shape));
  // Box–Muller: two uniforms give two normals; 1 − u keeps the logarithm finite.
  for (let i = 0; i < data.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - init.random()));
    const theta = 2 * Math.PI * init.random();
    data[i] = r * Math.cos(theta);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(theta);
  }
  return init.place(data, shape);
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
