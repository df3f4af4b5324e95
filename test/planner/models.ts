import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, memory } from '../../src/index.js';

/** A weight-dominated model: `blocks` (a ModuleList of Linear) and a head, run on one row. */
export class Stack extends Module {
  readonly blocks: ModuleList<Linear>;
  readonly head: Linear;
  constructor(depth = 24, width = 96) {
    super();
    this.blocks = new ModuleList(Array.from({ length: depth }, () => new Linear(width, width)));
    this.head = new Linear(width, 16);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const b of this.blocks) h = tf.relu(b.forward(h));
    return this.head.forward(h);
  }
}

/** A root whose own forward the sample never calls, as a pipeline's: its children are run one after another. */
export class TwoStage extends Module {
  readonly first = new Stack(6);
  readonly second = new Stack(6);
  forward(): never {
    throw new Error('TwoStage is a container: call its stages');
  }
}

/** The device peak of `sample` counted as the planner counts it: above what is not the root's weights. */
export function residentPeak(root: Module, sample: () => tf.TensorContainer): number {
  const own = root.parameters().reduce((n, p) => n + (p.isResident ? p.byteLength : 0), 0);
  const beside = memory.stats().deviceBytes - own;
  const { result, peakDeviceBytes } = memory.track(sample);
  tf.dispose(result);
  return peakDeviceBytes - beside;
}
