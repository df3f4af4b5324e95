import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, expect } from 'vitest';
import { ModelHook, unwrapLayersModel, WrappedLayer, type Module, type WrappedModel } from '../../src/index.js';

/**
 * A functional model that exercises every wrapping case on a few hundred weights:
 * a Sequential sub-model (Dense + BatchNormalization), a layer used twice, a layer that belongs both to the
 * sub-model and to the root graph, a Bidirectional(LSTM), a TimeDistributed(Dense), an RNN over stacked
 * cells, and a layer name containing '.'.
 */
export function buildNestedModel(): tfl.LayersModel {
  // Orthogonal (the default recurrent initializer) needs tfjs-core's chained ops, absent from the CJS build.
  const rnnInit = { recurrentInitializer: 'glorotUniform' as const };
  const sd1 = tfl.layers.dense({ units: 8, inputShape: [6], name: 'sd1' });
  const subseq = tfl.sequential({ name: 'subseq', layers: [sd1, tfl.layers.batchNormalization({ name: 'sbn' })] });
  const inp = tfl.input({ shape: [6], name: 'in' });
  const direct = sd1.apply(inp) as tfl.SymbolicTensor;
  let h = tfl.layers.add({ name: 'join' }).apply([subseq.apply(inp) as tfl.SymbolicTensor, direct]) as tfl.SymbolicTensor;
  const shared = tfl.layers.dense({ units: 8, name: 'shared' });
  h = shared.apply(shared.apply(h)) as tfl.SymbolicTensor;
  h = tfl.layers.reshape({ targetShape: [2, 4], name: 'rs' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.bidirectional({ name: 'bi', layer: tfl.layers.lstm({ units: 3, returnSequences: true, name: 'lstm', ...rnnInit }) as tfl.RNN }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.timeDistributed({ name: 'td', layer: tfl.layers.dense({ units: 2, name: 'tdd' }) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.rnn({ name: 'stk', cell: [tfl.layers.gruCell({ units: 4, ...rnnInit }), tfl.layers.simpleRNNCell({ units: 2, ...rnnInit })] }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, name: 'head.out' }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: inp, outputs: out, name: 'nested' });
  // Non-trivial BatchNormalization statistics, so that reading the wrong moving stats would show.
  const bn = subseq.getLayer('sbn');
  const stats = bn.getWeights().map((w, i) => (i === 3 ? tf.randomUniform(w.shape, 0.5, 2) : tf.randomNormal(w.shape)));
  bn.setWeights(stats);
  // The variables now share these buffers; dropping our handles leaves the variables their only owners.
  tf.dispose(stats);
  return model;
}

export function buildSequentialModel(): tfl.Sequential {
  return tfl.sequential({
    name: 'seqroot',
    layers: [
      tfl.layers.dense({ units: 5, inputShape: [4], name: 'd1', activation: 'relu' }),
      tfl.layers.dense({ units: 2, name: 'd2' }),
    ],
  });
}

/** A custom layer with a weight: not on the allowlist, so wrapping refuses it unless trusted. */
export class ScaleLayer extends tfl.layers.Layer {
  static className = 'ScaleLayer';
  private scale!: tfl.LayerVariable;
  override build(): void {
    this.scale = this.addWeight('scale', [1], 'float32', tfl.initializers.constant({ value: 1.5 }));
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, this.scale.read());
  }
}

export function buildCustomLayerModel(): tfl.LayersModel {
  const inp = tfl.input({ shape: [4], name: 'cin' });
  const h = tfl.layers.dense({ units: 3, name: 'cd' }).apply(inp) as tfl.SymbolicTensor;
  const out = new ScaleLayer({ name: 'scale' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'custom' });
}

/** The first index where the float32 bit patterns differ, or -1 when the tensors are bitwise equal. */
export function firstBitDifference(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = new Uint32Array(Float32Array.from(a.dataSync()).buffer);
  const y = new Uint32Array(Float32Array.from(b.dataSync()).buffer);
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

export function expectBitwiseEqual(a: tf.Tensor | tf.Tensor[], b: tf.Tensor | tf.Tensor[]): void {
  const as = Array.isArray(a) ? a : [a];
  const bs = Array.isArray(b) ? b : [b];
  expect(as.length).toBe(bs.length);
  as.forEach((t, i) => expect(firstBitDifference(t, bs[i]!)).toBe(-1));
}

export function disposeAll(...xs: Array<tf.TensorContainer | undefined>): void {
  for (const x of xs) if (x !== undefined) tf.dispose(x);
}

/** Whether two tensors hold the same float32 bit patterns (a plain loop: deep equality is slow on millions). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const x = new Uint32Array(Float32Array.from(a).buffer);
  const y = new Uint32Array(Float32Array.from(b).buffer);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Bytes of a model's weights as float32, each LayerVariable once. */
export function weightBytes(model: tfl.LayersModel): number {
  return [...new Set(model.weights)].reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1) * 4, 0);
}

/** Logs `<label>.pre` / `<label>.post` and the arguments and entry point it saw. */
export class LogHook extends ModelHook {
  readonly seen: Array<{ args: any[]; entry: string | undefined }> = [];
  constructor(readonly label: string, readonly log: string[]) {
    super();
  }
  override preForward(m: Module, args: any[]): any[] {
    this.log.push(`${this.label}.pre`);
    this.seen.push({ args, entry: (m as Partial<WrappedModel>).entryPoint });
    return args;
  }
  override postForward(_m: Module, out: any): any {
    this.log.push(`${this.label}.post`);
    return out;
  }
}

/** Leaf-level offloading in a few lines: a leaf's weights are on the device only during its forward. */
export class OnloadHook extends ModelHook {
  calls = 0;
  override preForward(m: Module, args: any[]): any[] {
    this.calls++;
    for (const p of m.parameters()) p.toDevice();
    return args;
  }
  override postForward(m: Module, out: any): any {
    for (const p of m.parameters()) p.toHost();
    return out;
  }
  override onForwardError(m: Module): void {
    for (const p of m.parameters()) p.toHost();
  }
}

/** Every leaf that owns parameters. */
export function weightedLeaves(root: Module): WrappedLayer[] {
  return root.modules().filter((m): m is WrappedLayer => m instanceof WrappedLayer && m.parameters().length > 0);
}

/**
 * Registers an afterEach that unwraps and disposes every model passed to the returned `track`, so that
 * each test starts from a clean engine whatever it left wrapped.
 */
export function trackModels(): <M extends tfl.LayersModel>(m: M) => M {
  const models: tfl.LayersModel[] = [];
  afterEach(() => {
    for (const m of models.splice(0)) {
      unwrapLayersModel(m);
      m.dispose();
    }
  });
  return (m) => (models.push(m), m);
}
