import * as tf from '@tensorflow/tfjs-core';
import { Attention, setAttentionProcessor, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const attention = new Attention(64, { heads: 4, dimHead: 16 });
const tokens = tf.randomNormal([1, 256, 64]);                  // [batch, N, dim]
{
  using _handle = setAttentionProcessor(attention, 'chunked', { blockSize: 64 });
  const out = attention.forward(tokens);                       // attention memory grows as N, not N²
  console.log(out.shape);
  out.dispose();
}
tokens.dispose();
attention.dispose();
