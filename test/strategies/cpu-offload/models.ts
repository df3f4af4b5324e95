import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { Conv2d, GroupNorm, HookRegistry, Linear, Module, ModuleList, Parameter, type Tier } from '../../../src/index.js';

/** Records which of a model's weights are on the device while it runs. */
export class Probe extends Module {
  seen: number[] = [];
  constructor(private readonly watch: () => Module) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    this.seen.push(this.watch().parameters().filter((p) => p.isResident).length);
    return x;
  }
}

/**
 * Image-like: conv → GroupNorm → conv, a Linear used twice (shared, re-entered), a root weight read around
 * its children, and a probe that counts resident weights mid-forward.
 */
export class ConvNet extends Module {
  conv1 = new Conv2d(3, 8, 3, { padding: 1 });
  norm = new GroupNorm(2, 8);
  conv2 = new Conv2d(8, 4, 3, { padding: 1 });
  shared = new Linear(4, 4);
  probe = new Probe(() => this);
  scale = new Parameter(tf.randomUniform([4], 0.5, 1.5, 'float32', 11));
  forward(x: tf.Tensor): tf.Tensor {
    let h = tf.relu(this.norm.forward(this.conv1.forward(x)));
    h = this.conv2.forward(h);
    h = this.shared.forward(this.probe.forward(this.shared.forward(h)));
    return tf.mul(h, this.scale.read());
  }
}

/** A small MLP component for chains: Linear → relu → Linear. */
export class Mlp extends Module {
  layers = new ModuleList([new Linear(8, 16), new Linear(16, 8)]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.layers.at(1).forward(tf.relu(this.layers.at(0).forward(x)));
  }
}

/** A module whose forward throws after its weights were used, when told to. */
export class Faulty extends Module {
  lin = new Linear(4, 4);
  fail = false;
  forward(x: tf.Tensor): tf.Tensor {
    const y = this.lin.forward(x);
    if (this.fail) throw new Error('boom');
    return y;
  }
}

/** Every weight's bytes, by path, read from wherever they are. */
export function snapshotWeights(m: Module): Map<string, Float32Array | Int32Array> {
  const out = new Map<string, Float32Array | Int32Array>();
  for (const [path, p] of m.namedParameters()) out.set(path, (p.isResident ? (p.read().dataSync() as Float32Array | Int32Array) : p.hostData()).slice());
  return out;
}

export function expectSameWeights(a: Map<string, Float32Array | Int32Array>, b: Map<string, Float32Array | Int32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expect(new Uint32Array(b.get(k)!.buffer).every((x, i) => x === new Uint32Array(v.buffer)[i]), k).toBe(true);
}

export function tiers(m: Module): Tier[] {
  return [...new Set(m.parameters().map((p) => p.tier))];
}

export function hookNames(m: Module): string[] {
  return m.modules().flatMap((x) => HookRegistry.get(x)?.hookOrder ?? []);
}

export function bits(t: tf.Tensor): Uint32Array {
  return new Uint32Array(Float32Array.from(t.dataSync()).buffer);
}

export function expectBitwise(a: tf.Tensor, b: tf.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(bits(a)).toEqual(bits(b));
}
