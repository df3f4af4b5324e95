import * as tf from '@tensorflow/tfjs-core';
import { Attention, naiveAttentionProcessor, setAttentionProcessor, useBackend, type AttentionProcessor } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

// Attention with temperature: sharper or flatter than softmax(q·kᵀ/√d).
const withTemperature = (t: number): AttentionProcessor => (attn, q, k, v, opts) =>
  tf.tidy(() => naiveAttentionProcessor(attn, tf.div(q, t), k, v, opts));

const model = new Attention(32, { heads: 2, dimHead: 16 });
const x = tf.randomNormal([1, 16, 32]);
{
  using _handle = setAttentionProcessor(model, withTemperature(0.7));
  const y = model.forward(x);
  y.dispose();
}
x.dispose();
model.dispose();
