import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appliedStrategies,
  applyBatchSlicing,
  applyTiling,
  Attention,
  Conv2d,
  Module,
  ModuleList,
  naiveAttentionProcessor,
  setAttentionProcessor,
  StrategyConflictError,
  type AttentionProcessor,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { rand } from '../../models/layers/helpers.js';

/** Two attention blocks under a list, so that ancestor, descendant and sibling calls all exist. */
class TwoBlocks extends Module {
  blocks = new ModuleList([new Attention(8, { heads: 2, dimHead: 4 }), new Attention(8, { heads: 2, dimHead: 4 })]);
  forward(x: tf.Tensor): tf.Tensor {
    return this.blocks.at(1).forward(this.blocks.at(0).forward(x));
  }
}

/** A processor that is the naive one but can be told apart (a user's own, set before memhooks). */
const custom: AttentionProcessor = (attn, q, k, v, opts) => naiveAttentionProcessor(attn, q, k, v, opts);

function processors(m: TwoBlocks): AttentionProcessor[] {
  return [...m.blocks].map((a) => a.processor);
}

describe.each(BACKENDS)('setAttentionProcessor replaces the processor on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('a second call on the same module replaces the first: no error, the new processor computes, remove() restores the original', () => {
    const model = new TwoBlocks();
    model.blocks.at(1).setProcessor(custom);
    const x = rand([1, 9, 8], 3);
    const expected = model.forward(x);
    const first = setAttentionProcessor(model, 'sliced', { sliceSize: 2 });
    const sliced = processors(model);
    const second = setAttentionProcessor(model, 'chunked', { blockSize: 4 });
    // Replaced: neither the original nor the first call's processor is in force.
    for (const [i, p] of processors(model).entries()) {
      expect(p).not.toBe(sliced[i]);
      expect(p).not.toBe(i === 1 ? custom : naiveAttentionProcessor);
    }
    const out = model.forward(x);
    expect(out.shape).toEqual(expected.shape);
    expect(Math.max(...tf.abs(tf.sub(out, expected)).dataSync())).toBeLessThan(1e-5);
    // Every Attention the first call reached was taken over: it is superseded, and its remove() is a no-op.
    expect(first.removed).toBe(true);
    expect(second.removed).toBe(false);
    expect(appliedStrategies(model)).toEqual(['attention_processor']);
    const current = processors(model);
    first.remove();
    expect(processors(model)).toEqual(current);
    second.remove();
    expect(processors(model)).toEqual([naiveAttentionProcessor, custom]);
    expect(appliedStrategies(model)).toEqual([]);
    second.remove();
    expect(processors(model)).toEqual([naiveAttentionProcessor, custom]);
    tf.dispose([x, expected, out]);
    model.dispose();
  });

  it('a call on a descendant takes over only that Attention; either handle restores what it still governs', () => {
    const model = new TwoBlocks();
    const whole = setAttentionProcessor(model, 'sliced');
    const wholeProcessor = model.blocks.at(1).processor;
    const one = setAttentionProcessor(model.blocks.at(0), 'chunked');
    expect(whole.removed).toBe(false);
    expect(model.blocks.at(1).processor).toBe(wholeProcessor);
    // The later handle restores the processor block 0 had before memhooks first set one, not 'sliced'.
    one.remove();
    expect(model.blocks.at(0).processor).toBe(naiveAttentionProcessor);
    expect(model.blocks.at(1).processor).toBe(wholeProcessor);
    whole.remove();
    expect(processors(model)).toEqual([naiveAttentionProcessor, naiveAttentionProcessor]);
    expect(appliedStrategies(model)).toEqual([]);
    expect(appliedStrategies(model.blocks.at(0))).toEqual([]);
    model.dispose();
  });

  it('an earlier handle removed first restores only the Attentions a later call did not take over', () => {
    const model = new TwoBlocks();
    const whole = setAttentionProcessor(model, 'sliced');
    const one = setAttentionProcessor(model.blocks.at(0), 'chunked');
    const chunked = model.blocks.at(0).processor;
    whole.remove();
    expect(whole.removed).toBe(true);
    expect(model.blocks.at(0).processor).toBe(chunked);
    expect(model.blocks.at(1).processor).toBe(naiveAttentionProcessor);
    one.remove();
    expect(model.blocks.at(0).processor).toBe(naiveAttentionProcessor);
    model.dispose();
  });

  it('a call on an ancestor supersedes every descendant call, and restores the processors from before the first', () => {
    const model = new TwoBlocks();
    model.blocks.at(0).setProcessor(custom);
    const a = setAttentionProcessor(model.blocks.at(0), 'chunked');
    const b = setAttentionProcessor(model.blocks.at(1), 'sliced');
    const all = setAttentionProcessor(model, 'naive');
    expect([a.removed, b.removed, all.removed]).toEqual([true, true, false]);
    expect(appliedStrategies(model.blocks.at(0))).toEqual([]);
    expect(appliedStrategies(model.blocks.at(1))).toEqual([]);
    a.remove();
    b.remove();
    expect(processors(model)).toEqual([naiveAttentionProcessor, naiveAttentionProcessor]);
    all.remove();
    expect(processors(model)).toEqual([custom, naiveAttentionProcessor]);
    model.dispose();
  });

  it('switching back and forth many times, then removing every handle in any order, ends at the original', () => {
    const model = new TwoBlocks();
    const handles = [];
    for (const p of ['sliced', 'chunked', 'naive', 'sliced'] as const) {
      handles.push(setAttentionProcessor(model, p));
      handles.push(setAttentionProcessor(model.blocks.at(1), p === 'naive' ? 'chunked' : 'naive'));
    }
    expect(handles.filter((h) => !h.removed)).toHaveLength(2);
    for (const h of [handles[3]!, handles[0]!, handles[7]!, handles[6]!]) h.remove();
    expect(processors(model)).toEqual([naiveAttentionProcessor, naiveAttentionProcessor]);
    expect(appliedStrategies(model)).toEqual([]);
    model.dispose();
  });
});

describe('strategies that are not settings still refuse a second application', () => {
  beforeAll(() => useBackend('cpu'));

  it('applyTiling twice on the same module, or on a descendant, throws StrategyConflictError and changes nothing', () => {
    const outer = new ModuleList([new Conv2d(3, 3, 1)]);
    const handle = applyTiling(outer, { tileSize: 8 });
    expect(() => applyTiling(outer, { tileSize: 16 })).toThrow(StrategyConflictError);
    expect(() => applyTiling(outer.at(0), { tileSize: 16 })).toThrow(/already applied/);
    expect(handle.removed).toBe(false);
    expect(appliedStrategies(outer)).toEqual(['tiling']);
    expect(appliedStrategies(outer.at(0))).toEqual([]);
    handle.remove();
    outer.dispose();
  });

  it('applyBatchSlicing twice on the same module throws StrategyConflictError', () => {
    const conv = new Conv2d(3, 3, 1);
    const handle = applyBatchSlicing(conv);
    expect(() => applyBatchSlicing(conv, { sliceSize: 2 })).toThrow(StrategyConflictError);
    expect(handle.removed).toBe(false);
    handle.remove();
    conv.dispose();
  });
});
