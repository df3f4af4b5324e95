import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, module, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

@module()
class MLP extends Module {
  layers = new ModuleList([new Linear(64, 256), new Linear(256, 64)]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.layers.at(1).forward(tf.relu(this.layers.at(0).forward(x)));
  }
}

const mlp = new MLP();
const x = tf.randomNormal([2, 64]);
const y = mlp.forward(x); // runs in its own tf.tidy scope: only y is left
tf.dispose([x, y]);
mlp.dispose();
