import type { Module } from '../../models/Module.js';
import { applyStrategy } from '../registry.js';
import type { StrategyHandle } from '../Strategy.js';
import './LayerwiseCastingStrategy.js';
import { LAYERWISE_CASTING } from './names.js';
import type { LayerwiseCastingOptions } from './options.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';
import type { LayerwiseCastingStrategy } from './LayerwiseCastingStrategy.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    layerwise_casting: OptionsOf<LayerwiseCastingStrategy>;
  }
}

/**
 * Stores the weights of every supported leaf (Linear, Conv2d, ConvTranspose2d, Embedding, wrapped Dense /
 * Conv / Embedding layers) in `storageDtype` and decodes them to float32 just for that leaf's forward, as
 * diffusers' apply_layerwise_casting. Modules matching `skipModulesPattern` (default: positional embeddings,
 * norms, the top-level proj_in/proj_out), instances of `skipModulesClasses`, and the patterns a class
 * declares with @module({ skipLayerwiseCasting, keepInFp32 }) stay float32, with their subtrees.
 *
 * Apply it before group offloading: the offloaded copies are then low-precision too. `remove()` restores
 * float32 storage holding the decoded values: the rounding is permanent (casting is lossy once).
 *
 * @example
 * const handle = applyLayerwiseCasting(transformer, { storageDtype: 'bfloat16' });
 * transformer.forward(x);  // weights decoded leaf by leaf
 * handle.remove();         // float32 again (the bf16-rounded values)
 */
export function applyLayerwiseCasting(module: Module, options: LayerwiseCastingOptions = {}): StrategyHandle {
  return applyStrategy(module, LAYERWISE_CASTING, options);
}
