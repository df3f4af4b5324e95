import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, GroupNorm, Module, Sequential } from '../../../src/index.js';
import { randomizeParameters } from '../../models/layers/helpers.js';

/** A smooth photo-like image: low-frequency waves per channel plus a little fixed noise, values in [0, scale]. */
export function smoothImage(batch: number, h: number, w: number, c: number, scale = 1): tf.Tensor4D {
  const data = new Float32Array(batch * h * w * c);
  let seed = 12345;
  const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.05;
  let i = 0;
  for (let b = 0; b < batch; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const v = 0.5 + 0.25 * Math.sin(0.13 * y + 0.7 * k + b) + 0.2 * Math.cos(0.09 * x - 0.4 * k) + noise();
          data[i++] = v * scale;
        }
  return tf.tensor4d(data, [batch, h, w, c]);
}

/** Three 3×3 convolutions: each output pixel sees the input within 3 pixels (its receptive radius). */
export class ConvStack extends Module {
  static readonly radius = 3;
  body = new Sequential([new Conv2d(3, 16, 3, { padding: 1 }), new Conv2d(16, 16, 3, { padding: 1 }), new Conv2d(16, 3, 3, { padding: 1 })]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.body.forward(x);
  }
}

/** A small VAE-like decoder: GroupNorm makes each output depend on statistics of the whole input. */
export class NormDecoder extends Module {
  inConv = new Conv2d(4, 32, 3, { padding: 1 });
  norm = new GroupNorm(8, 32);
  mid = new Conv2d(32, 32, 3, { padding: 1 });
  outConv = new Conv2d(32, 3, 3, { padding: 1 });
  forward(x: tf.Tensor): tf.Tensor {
    const h = tf.relu(this.norm.forward(this.inConv.forward(x)));
    return this.outConv.forward(tf.relu(this.mid.forward(h)));
  }
}

export function randomized<M extends Module>(m: M, seed: number): M {
  randomizeParameters(m, seed);
  // Scale the random weights down so that activations stay in a sensible range through the stack.
  for (const [, p] of m.namedParameters()) {
    const v = tf.mul(p.read(), 0.3);
    p.assign(v);
    v.dispose();
  }
  return m;
}
