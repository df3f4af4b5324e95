import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, dispatchModel, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

class Net extends Module {
  conv_in = new Linear(16, 32);
  blocks = new ModuleList([new Linear(32, 32), new Linear(32, 32)]);
  head = new Linear(32, 4);
  forward(x: tf.Tensor): tf.Tensor {
    x = this.conv_in.forward(x);
    for (const block of this.blocks) x = tf.relu(block.forward(x));
    return this.head.forward(x);
  }
}
const model = new Net();
const x = tf.randomNormal([2, 16]);

const handle = dispatchModel(model, { conv_in: 'device', 'blocks.0': 'device', 'blocks.1': 'host', head: 'device' });
const y = model.forward(x); // blocks.1's weights are uploaded for its forward and dropped after
handle.remove();            // every weight back where it was before, hooks gone

tf.dispose([x, y]);
model.dispose();
