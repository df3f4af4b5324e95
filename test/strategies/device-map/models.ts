import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, Parameter, withParameterInit } from '../../../src/index.js';

/** 18 float weights = 72 bytes, the size of accelerate's test BatchNorm1d(4) with its buffers. */
export class Norm18 extends Module {
  weight = new Parameter(tf.tensor1d(Float32Array.from({ length: 18 }, (_, i) => 1 + i / 32)));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.slice(this.weight.read(), [0], [x.shape[x.shape.length - 1]!]));
  }
}

/** accelerate's ModelForTest sizes: linear1 64 B, batchnorm 72 B, linear2 100 B (236 B in all). */
export class ModelForTest extends Module {
  linear1: Linear;
  batchnorm = new Norm18();
  linear2: Linear;
  constructor(seed = 0) {
    super();
    [this.linear1, this.linear2] = withParameterInit({ seed }, () => [new Linear(3, 4), new Linear(4, 5)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.linear2.forward(this.batchnorm.forward(this.linear1.forward(x)));
  }
}

export class Stack3 extends Module {
  layers = new ModuleList([new ModelForTest(1), new ModelForTest(2), new ModelForTest(3)]);
  forward(): never {
    throw new Error('sizes only');
  }
}

/** A chain of blocks whose output depends on every weight, for dispatch tests. */
export class Block extends Module {
  proj: Linear;
  norm = new Norm18();
  constructor(seed: number, width: number) {
    super();
    this.proj = withParameterInit({ seed }, () => new Linear(width, width));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(this.norm.forward(this.proj.forward(x)));
  }
}

export class Chain extends Module {
  blocks: ModuleList;
  head: Linear;
  constructor(count = 3, width = 8) {
    super();
    this.blocks = new ModuleList(Array.from({ length: count }, (_, i) => new Block(10 + i, width)));
    this.head = withParameterInit({ seed: 99 }, () => new Linear(width, 2));
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const b of this.blocks.children()) h = (b as Block).forward(h);
    return this.head.forward(h);
  }
}
