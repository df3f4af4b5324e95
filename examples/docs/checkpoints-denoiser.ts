import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, module } from 'memhooks';

/** A model of your own: the examples of the checkpoints and device-maps pages save and load it. */
@module()                                   // registers the class and records its constructor arguments
export class Denoiser extends Module {
  blocks: ModuleList<Linear>;
  constructor(readonly width: number, readonly options: { depth: number }) {
    super();
    this.blocks = new ModuleList(Array.from({ length: options.depth }, () => new Linear(width, width)));
  }
  forward(x: tf.Tensor): tf.Tensor {
    for (const block of this.blocks) x = tf.relu(block.forward(x));
    return x;
  }
}
