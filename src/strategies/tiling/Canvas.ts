import * as tf from '@tensorflow/tfjs-core';

/**
 * The blended output, accumulated in host memory: Σ weight·tile and Σ weight per pixel, divided at the end.
 *
 * Porting note: diffusers blends neighbouring tiles on the device and concatenates the cropped tiles. Here
 * each tile's output is read back and added into one host buffer, so the device holds one tile's work at a
 * time and the full output only once, at the end. On wasm and cpu the read-back is a plain copy; on GPU
 * backends it is a synchronous download per tile.
 */
export class Canvas {
  private readonly acc: Float32Array;
  private readonly weightSum: Float32Array;

  constructor(
    readonly batch: number,
    readonly height: number,
    readonly width: number,
    readonly channels: number,
  ) {
    this.acc = new Float32Array(batch * height * width * channels);
    this.weightSum = new Float32Array(height * width);
  }

  /** Adds one tile's output values ([batch, wy.length, wx.length, channels]) at (top, left), weighted by wy[i]·wx[j]. */
  add(values: ArrayLike<number>, top: number, left: number, wy: Float32Array, wx: Float32Array): void {
    const { batch, width, channels: c } = this;
    const th = wy.length;
    const tw = wx.length;
    for (let i = 0; i < th; i++) {
      const row = (top + i) * width + left;
      for (let j = 0; j < tw; j++) this.weightSum[row + j]! += wy[i]! * wx[j]!;
    }
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < th; i++) {
        const src = ((b * th + i) * tw) * c;
        const dst = ((b * this.height + top + i) * width + left) * c;
        for (let j = 0; j < tw; j++) {
          const w = wy[i]! * wx[j]!;
          const s = src + j * c;
          const d = dst + j * c;
          for (let k = 0; k < c; k++) this.acc[d + k]! += values[s + k]! * w;
        }
      }
    }
  }

  /** The blended image as a float32 tensor [batch, height, width, channels]. */
  finish(): tf.Tensor4D {
    const { acc, weightSum, channels: c } = this;
    const plane = this.height * this.width;
    for (let b = 0; b < this.batch; b++) {
      for (let p = 0; p < plane; p++) {
        const w = weightSum[p]!;
        // A pixel of a single tile has weight 1 and keeps its value exactly; every pixel has a tile of weight > 0.
        if (w === 1) continue;
        const o = (b * plane + p) * c;
        for (let k = 0; k < c; k++) acc[o + k]! /= w;
      }
    }
    return tf.tensor4d(acc, [this.batch, this.height, this.width, c]);
  }
}
