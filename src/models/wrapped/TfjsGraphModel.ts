import type * as tf from '@tensorflow/tfjs-core';

/**
 * A tfjs-converter GraphModel as memhooks' public types name it. `@tensorflow/tfjs-converter` is an optional
 * peer, so the shipped declarations must not import it (a TypeScript app without it would fail to compile
 * them): this lists the members memhooks and the docs' examples use, by shape. Every model that
 * tf.loadGraphModel returns is one; an app that has tfjs-converter gets the full type by naming it
 * (`const model: GraphModel = await loadPretrained(…)`).
 *
 * Methods, not function-typed properties: tfjs-converter declares them as methods, and this keeps them
 * assignable both ways.
 */
export interface TfjsGraphModel {
  readonly modelVersion: string;
  readonly inputNodes: string[];
  readonly outputNodes: string[];
  readonly inputs: tf.ModelTensorInfo[];
  readonly outputs: tf.ModelTensorInfo[];
  /** The graph's weights (its Const nodes), by node name. */
  readonly weights: { [name: string]: tf.Tensor[] };
  predict(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, config?: tf.ModelPredictConfig): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
  execute(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  executeAsync(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): Promise<tf.Tensor | tf.Tensor[]>;
  dispose(): void;
}
