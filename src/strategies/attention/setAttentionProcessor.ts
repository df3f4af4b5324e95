import { InvalidArgumentError } from '../../errors.js';
import { Attention, type AttentionProcessor } from '../../models/layers/Attention.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { applyStrategy, strategy } from '../registry.js';
import { Strategy, type StrategyHandle, type Undo } from '../Strategy.js';
import { resolveProcessor, type AttentionProcessorName, type AttentionProcessorOptions } from './processors.js';

export const ATTENTION_PROCESSOR = 'attention_processor' as const;

interface Options {
  processor: AttentionProcessorName | AttentionProcessor;
  opts?: AttentionProcessorOptions;
}

function attentionsIn(module: Module): Attention[] {
  return module.modules().filter((m): m is Attention => m instanceof Attention);
}

/**
 * Sets the processor of every Attention in a tree. It is a strategy like the others: the handle restores
 * each Attention's previous processor, and applying it again to an overlapping tree is refused until the
 * first application is removed (so two settings never fight over one Attention).
 */
@strategy(ATTENTION_PROCESSOR)
export class AttentionProcessorStrategy extends Strategy<Options> {
  override validate(module: Module, { processor, opts }: Options): void {
    resolveProcessor(processor, opts);
    if (attentionsIn(module).length === 0) {
      throw new InvalidArgumentError(
        `setAttentionProcessor: module ${describeModule(module)} contains no Attention module, so there is no processor to set. ` +
          `Call it on a model that has Attention layers (memhooks' Attention class).`,
      );
    }
  }

  override apply(module: Module, { processor, opts }: Options): Undo {
    const fn = resolveProcessor(processor, opts);
    const previous = attentionsIn(module).map((a) => [a, a.processor] as const);
    for (const [a] of previous) a.setProcessor(fn);
    return { remove: () => previous.forEach(([a, p]) => a.setProcessor(p)) };
  }
}

/**
 * Sets the attention processor of every Attention in `module`'s tree: 'naive' (the full N × N scores),
 * 'sliced' (query slices of `opts.sliceSize` rows), 'chunked' (key/value blocks of `opts.blockSize` rows
 * with an online softmax: no N × N matrix), or a custom `(attn, q, k, v, opts) => output in q's layout`.
 * `remove()` on the handle restores the processors each Attention had before.
 *
 * @example
 * using handle = setAttentionProcessor(transformer, 'chunked', { blockSize: 512 });
 * transformer.forward(tokens); // attention memory grows as N, not N²
 */
export function setAttentionProcessor(
  module: Module,
  processor: AttentionProcessorName | AttentionProcessor,
  opts?: AttentionProcessorOptions,
): StrategyHandle {
  return applyStrategy<Options>(module, ATTENTION_PROCESSOR, { processor, opts });
}
