import * as tf from '@tensorflow/tfjs-core';
import { Attention, Conv2d, GroupNorm, Linear, module, Module, Pipeline, Sequential } from '../../src/index.js';

/** Token features [B, 4, 8] → conditioning [B, 4, 16]. */
@module()
export class TinyEncoder extends Module {
  proj = new Linear(8, 16);
  attn = new Attention(16, { heads: 2, dimHead: 8 });
  forward(x: tf.Tensor): tf.Tensor {
    const h = this.proj.forward(x);
    return tf.add(h, this.attn.forward(h));
  }
}

/** One denoising step on latents [B, 4, 16] given the conditioning. */
@module()
export class TinyDenoiser extends Module {
  inp = new Linear(16, 16);
  attn = new Attention(16, { heads: 2, dimHead: 8 });
  out = new Linear(16, 16);
  forward(latents: tf.Tensor, cond: tf.Tensor): tf.Tensor {
    const h = tf.relu(this.inp.forward(tf.add(latents, cond)));
    return tf.sub(latents, tf.mul(0.1, this.out.forward(this.attn.forward(h))));
  }
}

/** Latents [B, 2, 2, 16] ⇄ images [B, 2, 2, 3]: an encoder and a decoder (conv, GroupNorm, conv). */
@module()
export class TinyVae extends Module {
  encoder = new Conv2d(3, 16, 1);
  decoder = new Sequential([new Conv2d(16, 8, 3, { padding: 1 }), new GroupNorm(2, 8), new Conv2d(8, 3, 1)]);
  forward(latents: tf.Tensor): tf.Tensor {
    return this.decoder.forward(latents);
  }
}

/** A component outside the offload sequence, run at the end (diffusers' safety checker). */
@module()
export class TinyChecker extends Module {
  head = new Linear(3, 1);
  forward(image: tf.Tensor): tf.Tensor {
    return this.head.forward(image);
  }
}

export interface TinyComponents {
  textEncoder: TinyEncoder;
  denoiser: TinyDenoiser;
  vae: TinyVae;
}

/** The zoo's shape of pipeline in miniature: encode, denoise `steps` times, decode, free. */
export class TinyPipeline<C extends TinyComponents & { [K in keyof C]: Module } = TinyComponents> extends Pipeline<C> {
  static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae';

  run(tokens: tf.Tensor, steps = 3): tf.Tensor {
    const { textEncoder, denoiser, vae } = this.components;
    const image = tf.tidy(() => {
      const cond = textEncoder.forward(tokens);
      let latents = tf.tidy(() => tf.mul(tf.mean(tokens, 2, true), tf.ones([1, 1, 16])));
      for (let i = 0; i < steps; i++) latents = denoiser.forward(latents, cond);
      return vae.forward(tf.reshape(latents, [-1, 2, 2, 16]));
    });
    this.maybeFreeModelHooks();
    return image;
  }
}

export function tinyComponents(): TinyComponents {
  return { textEncoder: new TinyEncoder(), denoiser: new TinyDenoiser(), vae: new TinyVae() };
}

export function disposeComponents(p: Pipeline): void {
  for (const m of Object.values(p.components)) m.dispose();
}
