import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Attention, InvalidArgumentError } from '../../../src/index.js';
import { JointAttention } from '../../../src/zoo.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';

// JointAttention declares Attention's signature too (so that its shipped declarations type-check): called
// that way, without the context stream, it refuses with a message instead of failing inside tfjs.
describe.each(BACKENDS)('JointAttention.forward on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('runs both streams, and refuses a call without the context stream', () => {
    const attention = new JointAttention(8, { heads: 2, dimHead: 4 });
    const asAttention: Attention = attention;
    expectNoLeaks(() => {
      const x = tf.randomNormal([1, 3, 8], 0, 1, 'float32', 1);
      const context = tf.randomNormal([1, 2, 8], 0, 1, 'float32', 2);
      const [xOut, contextOut] = attention.forward(x, context);
      expect(xOut!.shape).toEqual([1, 3, 8]);
      expect(contextOut!.shape).toEqual([1, 2, 8]);
      expect(() => asAttention.forward(x)).toThrow(InvalidArgumentError);
      expect(() => asAttention.forward(x, {})).toThrow(/needs the context \(text\) stream as its second argument.*got attention options/);
      tf.dispose([x, context, xOut!, contextOut!]);
    });
    attention.dispose();
  });
});
