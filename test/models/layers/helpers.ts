import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { preferredLinearLayout, type Linear, type Module } from '../../../src/index.js';
import { expectNoLeaks } from '../../helpers/leaks.js';

/** A random float32 tensor with values in [-1, 1) from a fixed seed. */
export function rand(shape: number[], seed = 1): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Gives every parameter of `m` fresh random values (so norms' ones/zeros do not hide a wrong formula). */
export function randomizeParameters(m: Module, seed = 100): void {
  m.namedParameters().forEach(([, p], i) => {
    const value = rand(p.shape as number[], seed + i);
    p.assign(value);
    value.dispose();
  });
}

/** A Linear's weight as [in, out] (tfjs Dense's kernel), whichever layout the layer keeps it in. */
export function denseKernel(l: Linear): tf.Tensor {
  return l.layout === 'out_in' ? tf.transpose(l.weight.read()) : l.weight.read();
}

/** The shape a Linear(in, out) built now keeps its weight in: [in, out], or [out, in] where the backend prefers it. */
export function linearWeightShape(inFeatures: number, outFeatures: number): [number, number] {
  return preferredLinearLayout() === 'out_in' ? [outFeatures, inFeatures] : [inFeatures, outFeatures];
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Bitwise equality of shape and values. */
export function expectExact(actual: tf.Tensor, expected: tf.Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(values(actual)).toEqual(values(expected));
}

/** |a − e| ≤ atol + rtol·|e| element-wise, with the worst element reported on failure. */
export function expectClose(
  actual: tf.Tensor,
  expected: tf.Tensor | { data: ArrayLike<number>; shape: number[] },
  { rtol = 1e-5, atol = 1e-6 }: { rtol?: number; atol?: number } = {},
): void {
  const eShape = expected instanceof tf.Tensor ? expected.shape : expected.shape;
  const eData = expected instanceof tf.Tensor ? expected.dataSync() : expected.data;
  expect(actual.shape).toEqual(eShape);
  const a = actual.dataSync();
  expect(a.length).toBe(eData.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - eData[i]!) - (atol + rtol * Math.abs(eData[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${a[worst]}, expected ${eData[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Runs `forward` three times, disposing each output, and checks that no tensor is left behind. */
export function expectForwardsLeakNothing(forward: () => tf.Tensor | tf.Tensor[]): void {
  expectNoLeaks(() => {
    for (let i = 0; i < 3; i++) tf.dispose(forward());
  });
}

/** Index of [i0, i1, …] in a row-major array of `shape`. */
export function at(shape: readonly number[], ...idx: number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

export interface NaiveConvSpec {
  stride: [number, number];
  pads: [number, number, number, number]; // top, bottom, left, right
  dilation: [number, number];
  groups: number;
}

/**
 * PyTorch's Conv2d written out as loops, on NHWC input and an HWIO [kh, kw, in/groups, out] weight:
 * out[b, oh, ow, o] = bias[o] + Σ x[b, oh·sh − pt + i·dh, ow·sw − pl + j·dw, g·cin + c] · w[i, j, c, o].
 */
export function naiveConv2d(x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor | undefined, spec: NaiveConvSpec) {
  const [B, H, W, C] = x.shape as number[];
  const [kh, kw, cinPerGroup, O] = w.shape as number[];
  const { stride: [sh, sw], pads: [pt, pb, pl, pr], dilation: [dh, dw], groups } = spec;
  const outH = Math.floor((H! + pt + pb - dh * (kh! - 1) - 1) / sh) + 1;
  const outW = Math.floor((W! + pl + pr - dw * (kw! - 1) - 1) / sw) + 1;
  const xd = x.dataSync();
  const wd = w.dataSync();
  const bd = bias?.dataSync();
  const outPerGroup = O! / groups;
  const shape = [B!, outH, outW, O!];
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let b = 0; b < B!; b++)
    for (let oh = 0; oh < outH; oh++)
      for (let ow = 0; ow < outW; ow++)
        for (let o = 0; o < O!; o++) {
          const g = Math.floor(o / outPerGroup);
          let sum = bd ? bd[o]! : 0;
          for (let i = 0; i < kh!; i++)
            for (let j = 0; j < kw!; j++) {
              const ih = oh * sh - pt + i * dh;
              const iw = ow * sw - pl + j * dw;
              if (ih < 0 || ih >= H! || iw < 0 || iw >= W!) continue;
              for (let c = 0; c < cinPerGroup!; c++) {
                sum += xd[at([B!, H!, W!, C!], b, ih, iw, g * cinPerGroup! + c)]! * wd[at(w.shape, i, j, c, o)]!;
              }
            }
          data[at(shape, b, oh, ow, o)] = sum;
        }
  return { data, shape };
}

/**
 * PyTorch's ConvTranspose2d as a scatter, on NHWC input and a [kh, kw, out, in] weight: every input pixel
 * (ih, iw) adds x·w[i, j] at output (ih·sh − ph + i, iw·sw − pw + j), kept when inside the output.
 */
export function naiveConvTranspose2d(
  x: tf.Tensor,
  w: tf.Tensor,
  bias: tf.Tensor | undefined,
  stride: [number, number],
  padding: [number, number],
  outputPadding: [number, number],
) {
  const [B, H, W, C] = x.shape as number[];
  const [kh, kw, O] = w.shape as number[];
  const outH = (H! - 1) * stride[0] - 2 * padding[0] + kh! + outputPadding[0];
  const outW = (W! - 1) * stride[1] - 2 * padding[1] + kw! + outputPadding[1];
  const shape = [B!, outH, outW, O!];
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  const xd = x.dataSync();
  const wd = w.dataSync();
  const bd = bias?.dataSync();
  if (bd) for (let k = 0; k < data.length; k++) data[k] = bd[k % O!]!;
  for (let b = 0; b < B!; b++)
    for (let ih = 0; ih < H!; ih++)
      for (let iw = 0; iw < W!; iw++)
        for (let i = 0; i < kh!; i++)
          for (let j = 0; j < kw!; j++) {
            const oh = ih * stride[0] - padding[0] + i;
            const ow = iw * stride[1] - padding[1] + j;
            if (oh < 0 || oh >= outH || ow < 0 || ow >= outW) continue;
            for (let o = 0; o < O!; o++)
              for (let c = 0; c < C!; c++) {
                data[at(shape, b, oh, ow, o)] += xd[at(x.shape, b, ih, iw, c)]! * wd[at(w.shape, i, j, o, c)]!;
              }
          }
  return { data, shape };
}

/** erf by its Taylor series (double precision is ample for |x| < 4). */
export function erf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
