import { InvalidArgumentError } from '../../base/errors.js';
import { HookRegistry } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { checkOptionKeys } from '../optionKeys.js';
import { applyStrategy, strategy } from '../registry.js';
import { Strategy, type StrategyHandle, type Undo } from '../Strategy.js';
import { BATCH_SLICING, BatchSlicingHook } from './BatchSlicingHook.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    batch_slicing: OptionsOf<BatchSlicing>;
  }
}

export interface BatchSlicingOptions {
  /** Samples per slice (an integer ≥ 1). Default 1: one sample at a time, the least memory. */
  sliceSize?: number;
}

/** Checks the options (unknown keys too) and fills the defaults; throws before anything changes. */
export function resolveBatchSlicingOptions(module: Module, options: BatchSlicingOptions | undefined, fn = 'applyBatchSlicing'): Required<BatchSlicingOptions> {
  const where = `${fn} on ${describeModule(module)}`;
  const { sliceSize = 1 } = checkOptionKeys(where, options, ['sliceSize']) as BatchSlicingOptions;
  if (!Number.isInteger(sliceSize) || sliceSize < 1) {
    throw new InvalidArgumentError(`${where}: \`sliceSize\` must be an integer ≥ 1 (samples per slice), got ${String(sliceSize)}.`);
  }
  return { sliceSize };
}

@strategy(BATCH_SLICING)
export class BatchSlicing extends Strategy<BatchSlicingOptions | undefined> {
  override validate(module: Module, options: BatchSlicingOptions | undefined): void {
    resolveBatchSlicingOptions(module, options);
  }

  override apply(module: Module, options: BatchSlicingOptions | undefined): Undo {
    const { sliceSize } = resolveBatchSlicingOptions(module, options);
    const handle = HookRegistry.checkIfExistsOrInitialize(module).registerHook(new BatchSlicingHook(sliceSize), BATCH_SLICING);
    return { remove: () => handle.remove() };
  }
}

/**
 * Runs `module` once per slice of the batch axis and concatenates the outputs: the output is bitwise the
 * un-sliced one, and the module's activations exist for `sliceSize` samples at a time (diffusers'
 * `enable_vae_slicing`, on any module, wrapped tfjs models included).
 *
 * @example
 * using handle = applyBatchSlicing(vae.decoder, { sliceSize: 1 });
 * const images = vae.decoder.forward(latents); // [4, H, W, 3], decoded one latent at a time
 */
export function applyBatchSlicing(module: Module, options: BatchSlicingOptions = {}): StrategyHandle {
  return applyStrategy(module, BATCH_SLICING, options);
}
