import * as tf from '@tensorflow/tfjs-core';
import { module } from '../../models/decorators.js';
import { Attention } from '../../models/layers/Attention.js';
import { Conv2d } from '../../models/layers/Conv2d.js';
import { GroupNorm } from '../../models/layers/GroupNorm.js';
import { Module } from '../../models/Module.js';
import { ModuleList } from '../../models/ModuleList.js';

export interface VaeDecoderConfig {
  latentChannels: number;
  outChannels: number;
  /** Channels per block from the image side (diffusers' block_out_channels); the decoder runs them reversed. */
  blockOutChannels: number[];
  layersPerBlock: number;
  normGroups: number;
}

const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x));

/** GroupNorm → SiLU → conv, twice, plus a 1×1 `conv_shortcut` when the channels change (diffusers' ResnetBlock2D). */
@module()
export class ResnetBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | undefined;

  constructor(inChannels: number, outChannels: number, groups: number) {
    super();
    this.norm1 = new GroupNorm(groups, inChannels, { eps: 1e-6 });
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { padding: 1 });
    this.norm2 = new GroupNorm(groups, outChannels, { eps: 1e-6 });
    this.conv2 = new Conv2d(outChannels, outChannels, 3, { padding: 1 });
    this.conv_shortcut = inChannels === outChannels ? undefined : new Conv2d(inChannels, outChannels, 1);
  }

  forward(x: tf.Tensor): tf.Tensor {
    const h = this.conv2.forward(silu(this.norm2.forward(this.conv1.forward(silu(this.norm1.forward(x))))));
    return tf.add(this.conv_shortcut === undefined ? x : this.conv_shortcut.forward(x), h);
  }
}

/** Self-attention over the pixels of a feature map with a GroupNorm in front and a residual (the VAE's mid-block attention). */
@module()
export class SpatialAttention extends Attention {
  readonly group_norm: GroupNorm;

  constructor(channels: number, groups: number) {
    super(channels, { heads: 1, dimHead: channels, bias: true });
    this.group_norm = new GroupNorm(groups, channels, { eps: 1e-6 });
  }

  override forward(x: tf.Tensor): tf.Tensor {
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const tokens = tf.reshape(this.group_norm.forward(x), [b, h * w, c]);
    return tf.add(x, tf.reshape(super.forward(tokens), [b, h, w, c]));
  }
}

/** Nearest-neighbour 2× upsampling followed by a 3×3 conv (diffusers' Upsample2D). */
@module()
export class Upsample2D extends Module {
  readonly conv: Conv2d;

  constructor(channels: number) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { padding: 1 });
  }

  forward(x: tf.Tensor): tf.Tensor {
    const [b, h, w, c] = x.shape as [number, number, number, number];
    // Each pixel repeated into a 2×2 square: the same values as nearest-neighbour resizing, with ops every backend has.
    const up = tf.reshape(tf.tile(tf.reshape(x, [b, h, 1, w, 1, c]), [1, 1, 2, 1, 2, 1]), [b, 2 * h, 2 * w, c]);
    return this.conv.forward(up);
  }
}

@module()
export class VaeMidBlock extends Module {
  readonly resnets: ModuleList<ResnetBlock>;
  readonly attentions: ModuleList<SpatialAttention>;

  constructor(channels: number, groups: number) {
    super();
    this.resnets = new ModuleList([new ResnetBlock(channels, channels, groups), new ResnetBlock(channels, channels, groups)]);
    this.attentions = new ModuleList([new SpatialAttention(channels, groups)]);
  }

  forward(x: tf.Tensor): tf.Tensor {
    const h = this.attentions.at(0).forward(this.resnets.at(0).forward(x)) as tf.Tensor;
    return this.resnets.at(1).forward(h) as tf.Tensor;
  }
}

@module()
export class UpDecoderBlock extends Module {
  readonly resnets: ModuleList<ResnetBlock>;
  readonly upsamplers: ModuleList<Upsample2D> | undefined;

  constructor(inChannels: number, outChannels: number, layers: number, groups: number, upsample: boolean) {
    super();
    this.resnets = new ModuleList(Array.from({ length: layers }, (_, i) => new ResnetBlock(i === 0 ? inChannels : outChannels, outChannels, groups)));
    this.upsamplers = upsample ? new ModuleList([new Upsample2D(outChannels)]) : undefined;
  }

  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const r of this.resnets) h = r.forward(h) as tf.Tensor;
    return this.upsamplers === undefined ? h : (this.upsamplers.at(0).forward(h) as tf.Tensor);
  }
}

/**
 * The decoder of a KL autoencoder (diffusers' Decoder, NHWC): `conv_in`, `mid_block` (resnet, attention,
 * resnet), `up_blocks` (each doubling the resolution but the last), `conv_norm_out`, SiLU, `conv_out`.
 *
 * forward(latents: [batch, h, w, latentChannels]) → [batch, h·2^(blocks−1), w·2^(blocks−1), outChannels].
 */
@module({ groupOffloadBlockModules: ['mid_block'] })
export class VaeDecoder extends Module {
  readonly conv_in: Conv2d;
  readonly mid_block: VaeMidBlock;
  readonly up_blocks: ModuleList<UpDecoderBlock>;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;

  constructor(readonly config: VaeDecoderConfig) {
    super();
    const { latentChannels, outChannels, blockOutChannels, layersPerBlock, normGroups } = config;
    const reversed = [...blockOutChannels].reverse();
    this.conv_in = new Conv2d(latentChannels, reversed[0]!, 3, { padding: 1 });
    this.mid_block = new VaeMidBlock(reversed[0]!, normGroups);
    this.up_blocks = new ModuleList(
      reversed.map((ch, i) => new UpDecoderBlock(reversed[Math.max(0, i - 1)]!, ch, layersPerBlock + 1, normGroups, i < reversed.length - 1)),
    );
    this.conv_norm_out = new GroupNorm(normGroups, blockOutChannels[0]!, { eps: 1e-6 });
    this.conv_out = new Conv2d(blockOutChannels[0]!, outChannels, 3, { padding: 1 });
  }

  forward(latents: tf.Tensor): tf.Tensor {
    let h = this.mid_block.forward(this.conv_in.forward(latents)) as tf.Tensor;
    for (const block of this.up_blocks) h = block.forward(h) as tf.Tensor;
    return this.conv_out.forward(silu(this.conv_norm_out.forward(h)));
  }
}
