import type * as tf from '@tensorflow/tfjs-core';
import { Attention, Module, ModuleList, naiveAttentionProcessor, setAttentionProcessor, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

class Blocks extends Module {
  blocks = new ModuleList([new Attention(32, { heads: 2, dimHead: 16 }), new Attention(32, { heads: 2, dimHead: 16 })]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.blocks.at(1).forward(this.blocks.at(0).forward(x));
  }
}

const model = new Blocks();
const sliced = setAttentionProcessor(model, 'sliced', { sliceSize: 32 });
const chunked = setAttentionProcessor(model, 'chunked', { blockSize: 32 }); // replaces 'sliced', no error
console.log(sliced.removed);                                  // true: every Attention it set was taken over
const first = setAttentionProcessor(model.blocks.at(0), 'naive'); // only blocks.0 changes
chunked.remove();                                             // blocks.1 back to its original processor
first.remove();                                               // blocks.0 too
console.log(model.blocks.at(1).processor === naiveAttentionProcessor); // true
model.dispose();
