import type * as tf from '@tensorflow/tfjs-core';

/**
 * A tfjs-layers LayersModel as memhooks' public types name it. `@tensorflow/tfjs-layers` is an optional
 * peer, so the shipped declarations must not import it (a TypeScript app without it would fail to compile
 * them): this lists the members memhooks and the docs' examples use, by shape. Every LayersModel
 * (tf.loadLayersModel, tf.sequential, tf.model) is one; wrapLayersModel checks the object at run time.
 *
 * Methods, not function-typed properties: tfjs-layers declares them as methods, and this keeps its
 * overloads and narrower parameter types assignable.
 */
export interface TfjsLayersModel {
  readonly name: string;
  readonly layers: ReadonlyArray<{ readonly name: string; getClassName(): string }>;
  getClassName(): string;
  predict(x: tf.Tensor | tf.Tensor[], args?: { batchSize?: number; verbose?: boolean }): tf.Tensor | tf.Tensor[];
  predictOnBatch(x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[];
  execute(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs: string | string[]): tf.Tensor | tf.Tensor[];
  dispose(): unknown;
}
