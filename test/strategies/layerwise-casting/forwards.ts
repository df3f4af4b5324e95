import type * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { Module } from '../../../src/index.js';
import { bitsOf } from './models.js';
import { expectNoLeaks } from '../../helpers/leaks.js';

/** Runs `model.forward(x)` `times` times: every output bitwise equal to `expected`, no tensor left behind. */
export function expectSameForwards(model: Module, x: tf.Tensor, expected: tf.Tensor, times = 3): void {
  expectNoLeaks(() => {
    for (let i = 0; i < times; i++) {
      const out = model.forward(x) as tf.Tensor;
      expect(bitsOf(out)).toEqual(bitsOf(expected));
      out.dispose();
    }
  });
}
