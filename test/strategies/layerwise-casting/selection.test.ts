import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyLayerwiseCasting,
  DEFAULT_SKIP_MODULES_PATTERN,
  Embedding,
  LayerNorm,
  Linear,
  module,
  Module,
  Parameter,
  type LayerwiseCastingOptions,
} from '../../../src/index.js';
import { useBackend } from '../../helpers/backends.js';
import { Block, CAST_BY_DEFAULT, Caster } from './models.js';

/** Paths of the weights stored in low precision after applying with `options`. */
function castPaths(model: Module, options: LayerwiseCastingOptions): string[] {
  const handle = applyLayerwiseCasting(model, options);
  const paths = model.namedParameters().filter(([, p]) => p.isLowPrecision).map(([path]) => path);
  handle.remove();
  return paths;
}

@module({ skipLayerwiseCasting: ['^blocks\\.1\\.'], keepInFp32: ['head'] })
class Declared extends Caster {}

/** Ties the embedding to an output projection the root computes itself: the root holds the same Parameter. */
class Tied extends Module {
  embed: Embedding;
  out_norm: LayerNorm;
  ff: Linear;
  outWeight: Parameter;
  constructor() {
    super();
    this.embed = new Embedding(8, 4);
    this.out_norm = new LayerNorm(4);
    this.ff = new Linear(4, 4);
    this.outWeight = this.embed.weight;
  }
  forward(ids: tf.Tensor): tf.Tensor {
    const h = this.ff.forward(this.out_norm.forward(this.embed.forward(ids)));
    return tf.matMul(h, this.outWeight.read(), false, true);
  }
}

describe('which modules layerwise casting casts', () => {
  beforeAll(() => useBackend('cpu'));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const keep = <M extends Module>(m: M): M => (models.push(m), m);

  it("exports diffusers' default patterns", () => {
    expect(DEFAULT_SKIP_MODULES_PATTERN).toEqual(['pos_embed', 'patch_embed', 'norm', '^proj_in$', '^proj_out$']);
  });

  it("'auto' skips norms and the top-level proj_in, and never touches int32 weights or non-leaf modules' own weights", () => {
    const model = keep(new Caster());
    expect(castPaths(model, {})).toEqual(CAST_BY_DEFAULT);
    expect(castPaths(model, { skipModulesPattern: 'auto' })).toEqual(CAST_BY_DEFAULT);
  });

  it('^proj_in$ matches only the top-level path, not a nested proj_in', () => {
    class Nested extends Module {
      inner: Caster = new Caster();
      forward(x: tf.Tensor): tf.Tensor {
        return this.inner.forward(x);
      }
    }
    const model = keep(new Nested());
    expect(castPaths(model, {})).toContain('inner.proj_in.weight');
  });

  it('custom patterns replace the defaults (norm weights are still never cast: LayerNorm is not a supported leaf)', () => {
    const model = keep(new Caster());
    expect(castPaths(model, { skipModulesPattern: ['^head$', /blocks\.0/g] })).toEqual(
      ['embed.weight', 'proj_in.weight', 'proj_in.bias', 'blocks.1.ff.weight', 'blocks.1.ff.bias', 'conv.weight', 'conv.bias'],
    );
    expect(castPaths(model, { skipModulesPattern: null })).toEqual(['embed.weight', 'proj_in.weight', 'proj_in.bias', ...CAST_BY_DEFAULT.slice(1)]);
  });

  it('skipModulesClasses skips whole subtrees, by constructor or by class name', () => {
    const model = keep(new Caster());
    const rest = ['embed.weight', 'conv.weight', 'conv.bias', 'head.weight', 'head.bias'];
    expect(castPaths(model, { skipModulesClasses: [Block] })).toEqual(rest);
    expect(castPaths(model, { skipModulesClasses: ['Block'] })).toEqual(rest);
    expect(castPaths(model, { skipModulesClasses: [Embedding, Linear] })).toEqual(['conv.weight', 'conv.bias']);
  });

  it('adds the class metadata (skipLayerwiseCasting, keepInFp32) to the defaults and to custom patterns', () => {
    const model = keep(new Declared());
    const declared = CAST_BY_DEFAULT.filter((p) => !p.startsWith('blocks.1.') && !p.startsWith('head.'));
    expect(castPaths(model, {})).toEqual(declared);
    expect(castPaths(model, { skipModulesPattern: ['^conv$'] })).toEqual(['embed.weight', 'proj_in.weight', 'proj_in.bias', 'blocks.0.ff.weight', 'blocks.0.ff.bias']);
  });

  it('leaves float32 a weight that a float32 module also reads (a tied embedding), and the model still runs', () => {
    const model = keep(new Tied());
    const x = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    const handle = applyLayerwiseCasting(model, { skipModulesPattern: 'auto' });
    // The root reads embed.weight itself, so it stays float32; ff is cast.
    expect(model.embed.weight.isLowPrecision).toBe(false);
    expect(model.ff.weight.isLowPrecision).toBe(true);
    tf.dispose(model.forward(x));
    handle.remove();
    x.dispose();
  });

  it('casts a supported leaf given as the root', () => {
    const leaf = keep(new Linear(4, 8));
    expect(castPaths(leaf, { storageDtype: 'float16' })).toEqual(['weight', 'bias']);
  });
});
