import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, dispatchModel, useBackend } from 'memhooks';

await useBackend('wasm'); await useBackend('cpu');        // both initialized; cpu active

class Net extends Module {
  blocks = new ModuleList([new Linear(16, 32), new Linear(32, 32)]);
  head = new Linear(32, 4);
  forward(x: tf.Tensor): tf.Tensor {
    for (const block of this.blocks) x = tf.relu(block.forward(x));
    return this.head.forward(x);
  }
}
const model = new Net();
const x = tf.randomNormal([2, 16]);

const handle = dispatchModel(model, { 'blocks.0': 'cpu', 'blocks.1': 'wasm', head: 'wasm' });
const y = model.forward(x);                               // y lives on wasm; the active backend is cpu again
console.log(tf.getBackend());                             // 'cpu'

handle.remove();
tf.dispose([x, y]);
model.dispose();
