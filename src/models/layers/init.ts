import * as tf from '@tensorflow/tfjs-core';
import { Parameter } from '../Parameter.js';

/**
 * PyTorch's default init for Linear and conv layers: kaiming_uniform(a=√5) for the weight and
 * uniform(−1/√fanIn, 1/√fanIn) for the bias, which both come down to uniform(−1/√fanIn, 1/√fanIn).
 */
export function uniformParameter(shape: number[], fanIn: number): Parameter {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return new Parameter(tf.randomUniform(shape, -bound, bound, 'float32'));
}

export function onesParameter(shape: number[]): Parameter {
  return new Parameter(tf.ones(shape, 'float32'));
}

export function zerosParameter(shape: number[]): Parameter {
  return new Parameter(tf.zeros(shape, 'float32'));
}
