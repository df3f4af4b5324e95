import { InvalidArgumentError } from '../../base/errors.js';
import { Attention, type AttentionProcessor } from '../../models/layers/Attention.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { applyStrategy, strategy } from '../registry.js';
import { Strategy, type StrategyHandle, type Undo } from '../Strategy.js';
import { checkOptionKeys } from '../optionKeys.js';
import { resolveProcessor, type AttentionProcessorName, type AttentionProcessorOptions } from './processors.js';
import { ProcessorSetting } from './ProcessorSetting.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    attention_processor: OptionsOf<AttentionProcessorStrategy>;
  }
}

export const ATTENTION_PROCESSOR = 'attention_processor' as const;
const FN = 'setAttentionProcessor';

interface Options {
  processor: AttentionProcessorName | AttentionProcessor;
  opts?: AttentionProcessorOptions;
}

function attentionsIn(module: Module): Attention[] {
  return module.modules().filter((m): m is Attention => m instanceof Attention);
}

/**
 * Sets the processor of every Attention in a tree. It is a strategy, and a setting: applying it again on
 * an overlapping tree (the same module, an ancestor or a descendant) replaces the processor of every
 * Attention the new call reaches instead of being refused (see ProcessorSetting for which handle then
 * restores what).
 */
@strategy(ATTENTION_PROCESSOR)
export class AttentionProcessorStrategy extends Strategy<Options> {
  override readonly replaceable = true;

  override validate(module: Module, options: Options): void {
    const { processor, opts } = checkArguments(options);
    resolveProcessor(processor, opts, FN);
    if (attentionsIn(module).length === 0) {
      throw new InvalidArgumentError(
        `${FN}: module ${describeModule(module)} contains no Attention module, so there is no processor to set. ` +
          `Call it on a model that has Attention layers (memhooks' Attention class).`,
      );
    }
  }

  /** The Attentions it sets: the only modules it changes. */
  override covers(module: Module): Module[] {
    return attentionsIn(module);
  }

  override apply(module: Module, options: Options): Undo {
    const { processor, opts } = checkArguments(options);
    return new ProcessorSetting(attentionsIn(module), resolveProcessor(processor, opts, FN));
  }
}

/** applyStrategy(module, 'attention_processor', options) takes { processor, opts } and nothing else. */
function checkArguments(options: Options): Options {
  const o = checkOptionKeys(`applyStrategy(module, '${ATTENTION_PROCESSOR}', options)`, options, ['processor', 'opts']);
  return { processor: o.processor as Options['processor'], opts: o.opts as Options['opts'] };
}

/**
 * Sets the attention processor of every Attention in `module`'s tree: 'naive' (the full N × N scores),
 * 'sliced' (query slices of `opts.sliceSize` rows), 'chunked' (key/value blocks of `opts.blockSize` rows
 * with an online softmax: no N × N matrix), or a custom `(attn, q, k, v, opts) => output in q's layout`.
 * Unknown option keys are refused, and nothing changes when a check fails.
 *
 * Calling it again on the same tree, a part of it or a tree containing it replaces the processor of every
 * Attention the new call reaches (diffusers' set_attn_processor). `remove()` on a handle restores the
 * processor each Attention it still governs had before memhooks first set one; an Attention a later call
 * reached is governed by that later call. A handle whose every Attention was taken over is superseded:
 * its `removed` reads true and its `remove()` does nothing.
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
