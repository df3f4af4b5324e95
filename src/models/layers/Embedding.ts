import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../errors.js';
import { module } from '../decorators.js';
import { Module } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import { normalParameter } from './init.js';
import { checkBoolean, checkInput, moduleSubject, checkInt } from './checks.js';

export interface EmbeddingOptions {
  /**
   * Check that every id is in [0, numEmbeddings) before the lookup (default true). The check reads two
   * scalars back from the backend (a sync point on GPU backends); turn it off only for trusted ids. Without
   * it, tfjs' gather throws a terse "GatherV2: the index value … is not in …" on cpu and wasm, and GPU
   * backends do not check at all (tfjs documents that they return 0), so a wrong id goes unnoticed there.
   */
  checkIds?: boolean;
}

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
    if (this.checkIds && ids.size > 0) this.assertIdsInRange(ids);
    return tf.gather(this.weight.read(), ids);
  }

  private assertIdsInRange(ids: tf.Tensor): void {
    const flat = tf.reshape(ids, [ids.size]);
    const lo = tf.min(flat).dataSync()[0]!;
    const hi = tf.max(flat).dataSync()[0]!;
    if (lo < 0 || hi >= this.numEmbeddings) {
      const bad = lo < 0 ? lo : hi;
      throw new InvalidArgumentError(
        `${moduleSubject(this)} got id ${bad}, outside [0, ${this.numEmbeddings}) (its numEmbeddings). ` +
          `Pass ids in range, or build the Embedding with more entries.`,
      );
    }
  }
}
