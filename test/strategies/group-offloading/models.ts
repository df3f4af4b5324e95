import * as tf from '@tensorflow/tfjs-core';
import { EARLY_UPLOAD_BACKENDS } from '../../../src/strategies/group-offloading/stores.js';
import { LayerNorm, Linear, Module, ModuleList, Parameter, Sequential } from '../../../src/index.js';

/** A block: Linear → LayerNorm, with a residual. */
export class Block extends Module {
  proj: Linear;
  norm: LayerNorm;
  constructor(dim: number) {
    super();
    this.proj = new Linear(dim, dim);
    this.norm = new LayerNorm(dim);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(x, this.norm.forward(tf.relu(this.proj.forward(x))));
  }
}

/**
 * Embedding → blocks (run in `order`, not declaration order) → an optional branch → norm → head, with a
 * parameter of the root's own. `forward(x, branch)` runs `extra` only when branch is true.
 */
export class Blocky extends Module {
  embed: Linear;
  blocks: ModuleList<Block>;
  extra: Linear;
  norm: LayerNorm;
  head: Linear;
  scale: Parameter;
  constructor(readonly dim = 32, readonly order: readonly number[] = [2, 0, 3, 1]) {
    super();
    this.embed = new Linear(8, dim);
    this.blocks = new ModuleList(order.map(() => new Block(dim)));
    this.extra = new Linear(dim, dim);
    this.norm = new LayerNorm(dim);
    this.head = new Linear(dim, 4);
    this.scale = new Parameter(tf.randomNormal([4], 1, 0.1, 'float32', 3));
  }
  forward(x: tf.Tensor, branch = false): tf.Tensor {
    let h = this.embed.forward(x);
    for (const i of this.order) h = this.blocks.at(i).forward(h);
    if (branch) h = this.extra.forward(h);
    return tf.mul(this.head.forward(this.norm.forward(h)), this.scale.read());
  }
}

/** A module that owns a weight directly and has no children: a parameter-only group at leaf level. */
export class Gain extends Module {
  gain: Parameter;
  constructor(dim: number) {
    super();
    this.gain = new Parameter(tf.randomUniform([dim], 0.5, 1.5, 'float32', 5));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.gain.read());
  }
}

/** Owns a weight and children: containers nested in a non-list child, parameter-only modules inside. */
export class Inner extends Module {
  bias: Parameter;
  layers: Sequential;
  gains: ModuleList<Gain>;
  constructor(dim: number) {
    super();
    this.bias = new Parameter(tf.randomNormal([dim], 0, 0.1, 'float32', 7));
    this.layers = new Sequential([new Linear(dim, dim), new Gain(dim), new Linear(dim, dim)]);
    this.gains = new ModuleList([new Gain(dim), new Gain(dim)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    let h = tf.add(this.layers.forward(x), this.bias.read());
    for (const g of [...this.gains].reverse()) h = g.forward(h);
    return h;
  }
}

export class Nested extends Module {
  first: Linear;
  inner: Inner;
  stages: Sequential;
  constructor(readonly dim = 16) {
    super();
    this.first = new Linear(8, dim);
    this.inner = new Inner(dim);
    this.stages = new Sequential([new Linear(dim, dim), new Gain(dim), new Linear(dim, dim)]);
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.stages.forward(this.inner.forward(this.first.forward(x)));
  }
}

/** The float32 bits of a tensor, for bitwise comparison. */
export function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer);
}

/** Every parameter's bytes, by path (a snapshot to compare after remove()). */
export function snapshot(m: Module): Map<string, Uint32Array> {
  return new Map(m.namedParameters().map(([path, p]) => {
    const values = p.isResident ? (p.read().dataSync() as Float32Array) : (p.hostData() as Float32Array);
    return [path, new Uint32Array(Float32Array.from(values).buffer)];
  }));
}

/**
 * Runs fn with early uploads on for `backend`: host-tier prefetch then uploads the next groups ahead, as it
 * does on GPU backends (on cpu and wasm it is off by default: there the upload cannot overlap).
 */
export function withEarlyUploads<T>(backend: string, fn: () => T): T {
  const had = EARLY_UPLOAD_BACKENDS.has(backend);
  EARLY_UPLOAD_BACKENDS.add(backend);
  try {
    return fn();
  } finally {
    if (!had) EARLY_UPLOAD_BACKENDS.delete(backend);
  }
}
