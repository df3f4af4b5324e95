import type * as tf from '@tensorflow/tfjs-core';

/**
 * The parts of tfjs-layers objects that wrapping relies on, by duck typing: `@tensorflow/tfjs-layers` is an
 * optional peer, so src/ never imports it at runtime (a second copy of it would also have other classes).
 */

/** Layer.call / Layer.apply: `(inputs, kwargs)`. */
export type CallFn = (this: unknown, inputs: unknown, kwargs?: unknown) => unknown;

/** tfjs-layers' LayerVariable (variables.js): a tf.Variable in `val` behind read/write/dispose. */
export interface LayerVariableLike {
  readonly name: string;
  readonly originalName: string;
  readonly shape: number[];
  readonly dtype: string;
  readonly constraint?: { apply(w: tf.Tensor): tf.Tensor } | null;
  trainable: boolean;
  val: tf.Variable;
  read(): tf.Tensor;
  write(value: tf.Tensor): LayerVariableLike;
  dispose(): void;
}

export interface LayerLike {
  name: string;
  readonly weights: LayerVariableLike[];
  call: CallFn;
  apply: CallFn;
  getClassName(): string;
  /** False until the layer has created its weights (first call, or an input shape). */
  readonly built?: boolean;
  /** Containers (LayersModel, Sequential) only. */
  readonly layers?: LayerLike[];
  /** Wrappers: TimeDistributed/Bidirectional (`layer`, `forwardLayer`, `backwardLayer`), RNNs (`cell`, `cells`). */
  readonly layer?: LayerLike;
  readonly forwardLayer?: LayerLike;
  readonly backwardLayer?: LayerLike;
  readonly cell?: LayerLike;
  readonly cells?: LayerLike[];
}

export interface LayersModelLike extends LayerLike {
  readonly layers: LayerLike[];
  predict: (...args: unknown[]) => unknown;
  predictOnBatch: (...args: unknown[]) => unknown;
  execute: (...args: unknown[]) => unknown;
}

/** A LayersModel, Sequential or functional model (also one nested as a layer). */
export function isLayersModelLike(value: unknown): value is LayersModelLike {
  const v = value as Partial<LayersModelLike> | null;
  return (
    typeof v === 'object' && v !== null && Array.isArray(v.layers) &&
    ['predict', 'predictOnBatch', 'execute', 'call', 'apply', 'getClassName'].every(
      (k) => typeof (v as Record<string, unknown>)[k] === 'function',
    )
  );
}

/** tfjs-converter's GraphModel: executes a graph of ops; it has no layer objects to hook. */
export function isGraphModelLike(value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || 'layers' in v) return false;
  return typeof v.executeAsync === 'function' || 'modelSignature' in v || 'artifacts' in v;
}

/** A layer that holds other layers as a graph (a nested Sequential or functional model). */
export function isContainerLayer(layer: LayerLike): boolean {
  return Array.isArray(layer.layers);
}

export function classNameOf(layer: LayerLike): string {
  try {
    return layer.getClassName();
  } catch {
    return layer.constructor?.name ?? 'Layer';
  }
}

/** Layers that a wrapper or RNN calls directly (their `.call`, bypassing apply). */
export function innerLayersOf(layer: LayerLike): LayerLike[] {
  const inner: LayerLike[] = [];
  for (const candidate of [layer.layer, layer.forwardLayer, layer.backwardLayer, layer.cell, ...(layer.cells ?? [])]) {
    if (candidate !== undefined && candidate !== null && typeof candidate === 'object' && !inner.includes(candidate)) {
      inner.push(candidate);
    }
  }
  return inner;
}
