import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { ModelHook, type NextForward } from '../../hooks/ModelHook.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';

/** The hook name batch slicing registers under (one per module). */
export const BATCH_SLICING = 'batch_slicing' as const;

/**
 * Runs the module once per slice of the batch axis and concatenates the outputs (diffusers'
 * `enable_vae_slicing`, on any module). Only the first argument is sliced: a tensor, or an array of
 * tensors sharing one batch size (a multi-input model); other arguments (a wrapped model's predict
 * config, an options object) go unchanged to every slice. The module's activations then exist for one
 * slice at a time; the outputs of all slices are kept until they are concatenated.
 */
export class BatchSlicingHook extends ModelHook {
  constructor(readonly sliceSize: number) {
    super();
  }

  override newForward(module: Module, args: any[], next: NextForward): any {
    const [first, ...rest] = args;
    const inputs = asTensors(module, first);
    const batch = batchSize(module, inputs);
    if (batch <= this.sliceSize) return next(...args);
    const outputs: unknown[] = [];
    try {
      for (let start = 0; start < batch; start += this.sliceSize) {
        const size = Math.min(this.sliceSize, batch - start);
        const slices = inputs.map((t) => tf.slice(t, start, size));
        try {
          // Hooked dispatch runs the module's own forward unscoped inside one tidy for the whole call: a
          // scope per slice releases each slice's activations before the next slice starts.
          outputs.push(tf.tidy(() => next(Array.isArray(first) ? slices : slices[0], ...rest)));
        } finally {
          // Released right away, so that one slice's input is alive at a time.
          tf.dispose(slices);
        }
      }
      return concatOutputs(module, outputs);
    } finally {
      tf.dispose(outputs as tf.TensorContainer);
    }
  }

  override toString(): string {
    return `BatchSlicingHook(sliceSize=${this.sliceSize})`;
  }
}

function asTensors(module: Module, first: unknown): tf.Tensor[] {
  const list = Array.isArray(first) ? first : [first];
  if (list.length === 0 || !list.every((t) => t instanceof tf.Tensor && t.rank >= 1)) {
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Batch slicing on module ${describeModule(module)} needs its first argument to be a tensor with a batch axis ` +
        `(or an array of such tensors); got ${describeArg(first)}. Apply batch slicing to a module whose first ` +
        `argument is batched, or remove it (handle.remove()).`,
    );
  }
  return list as tf.Tensor[];
}

function batchSize(module: Module, inputs: tf.Tensor[]): number {
  const batch = inputs[0]!.shape[0]!;
  if (inputs.some((t) => t.shape[0] !== batch)) {
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Batch slicing on module ${describeModule(module)} got input tensors with different batch sizes ` +
        `(${inputs.map((t) => t.shape[0]).join(', ')}); every tensor of the first argument must share the batch axis.`,
    );
  }
  return batch;
}

/** Concatenates per-slice outputs along the batch axis: one tensor, or an array of tensors position by position. */
function concatOutputs(module: Module, outputs: unknown[]): tf.Tensor | tf.Tensor[] {
  const first = outputs[0];
  if (first instanceof tf.Tensor && outputs.every((o) => o instanceof tf.Tensor)) return tf.concat(outputs as tf.Tensor[], 0);
  if (Array.isArray(first) && outputs.every((o) => Array.isArray(o) && o.length === first.length && o.every((t) => t instanceof tf.Tensor))) {
    return first.map((_, i) => tf.concat(outputs.map((o) => (o as tf.Tensor[])[i]!), 0));
  }
  throw new MemhooksError(
    ERROR_CODES.SHAPE_MISMATCH,
    `Batch slicing on module ${describeModule(module)} cannot concatenate its outputs: each slice returned ` +
      `${describeArg(first)}, but only a tensor or an array of tensors can be joined along the batch axis. ` +
      `Apply batch slicing to a module that returns tensors.`,
  );
}

function describeArg(value: unknown): string {
  if (value instanceof tf.Tensor) return `a rank-${value.rank} tensor`;
  if (Array.isArray(value)) return `an array of ${value.length} item(s)`;
  return value === null ? 'null' : typeof value;
}
