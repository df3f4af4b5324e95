import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { normalParameter } from './init.js';
import { checkBoolean, checkInput, moduleSubject, checkInt } from './checks.js';

export interface EmbeddingOptions {
  /**
   * Check that every id is in [0, numEmbeddings) (default true) and refuse a wrong one with a clear error.
   * On cpu and wasm it is free: their gather refuses such an id itself, and the ids are read back only
   * then, to name the bad one. Elsewhere it reads two scalars back before the lookup (a sync point on GPU
   * backends, whose gather returns 0 for a wrong id instead of failing); turn it off only for trusted ids.
   */
  checkIds?: boolean;
}

/** Backends whose GatherV2 kernel throws on an id outside the table (GPU backends return 0 instead). */
const GATHER_CHECKS_RANGE = new Set(['cpu', 'wasm']);

/**
 * A lookup table, as torch.nn.Embedding. `weight` is [numEmbeddings, embeddingDim], initialized from a
 * standard normal like PyTorch.
 *
 * forward(ids: int32 tensor of any shape) → [...ids.shape, embeddingDim].
 */
@module()
export class Embedding extends Module {
  readonly weight: Parameter;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly checkIds: boolean;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    const { checkIds = true } = options;
    this.numEmbeddings = checkInt(numEmbeddings, 'Embedding', 'numEmbeddings');
    this.embeddingDim = checkInt(embeddingDim, 'Embedding', 'embeddingDim');
    this.checkIds = checkBoolean(checkIds, 'Embedding', 'checkIds');
    this.weight = normalParameter([numEmbeddings, embeddingDim]);
  }

  forward(ids: tf.Tensor): tf.Tensor {
    checkInput(this, ids, { dtype: 'int32', expected: 'any shape (int32 ids)' }, 'ids');
    if (!this.checkIds || ids.size === 0) return tf.gather(this.weight.read(), ids);
    if (GATHER_CHECKS_RANGE.has(tf.getBackend())) {
      // These backends' gather refuses an out-of-range id itself, before writing anything: checking first
      // would only add two reductions and two read-backs to every call. Its terse message is replaced by
      // ours when it fires.
      try {
        return tf.gather(this.weight.read(), ids);
      } catch (err) {
        this.assertIdsInRange(ids, err);
        throw err;
      }
    }
    this.assertIdsInRange(ids);
    return tf.gather(this.weight.read(), ids);
  }

  private assertIdsInRange(ids: tf.Tensor, cause?: unknown): void {
    const flat = tf.reshape(ids, [ids.size]);
    const lo = tf.min(flat).dataSync()[0]!;
    const hi = tf.max(flat).dataSync()[0]!;
    if (lo < 0 || hi >= this.numEmbeddings) {
      const bad = lo < 0 ? lo : hi;
      throw new InvalidArgumentError(
        `${moduleSubject(this)} got id ${bad}, outside [0, ${this.numEmbeddings}) (its numEmbeddings). ` +
          `Pass ids in range, or build the Embedding with more entries.`,
        cause === undefined ? undefined : { cause },
      );
    }
  }
}
