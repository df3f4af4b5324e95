import type { Module } from '../../models/Module.js';
import { SEQUENTIAL_OFFLOAD } from '../shared/offloadingNames.js';
import { applyStrategy } from '../registry.js';
import type { StrategyHandle } from '../Strategy.js';
import './SequentialOffloadStrategy.js';
import type { SequentialOffloadOptions } from './SequentialOffloadStrategy.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';
import type { SequentialOffloadStrategy } from './SequentialOffloadStrategy.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    sequential_offload: OptionsOf<SequentialOffloadStrategy>;
  }
}

/**
 * Keeps every weight of `module` on the host and onloads each module's own weights just for its forward
 * (accelerate's cpu_offload; diffusers' enable_sequential_cpu_offload per component). The least device
 * memory of all strategies — the weights of one leaf (plus its ancestors' own weights) at a time — and the
 * most transfers: every weight is uploaded once per forward. Offloading is a dispose, not a readback,
 * because the host copy is kept while a weight is on the device. handle.remove() puts every weight back.
 *
 * @example
 * const handle = applySequentialOffload(model);
 * model.forward(x);  // bitwise the resident output; weights on the host before and after
 * handle.remove();   // weights back on the device, hooks gone
 */
export function applySequentialOffload(module: Module, options: SequentialOffloadOptions = {}): StrategyHandle {
  return applyStrategy(module, SEQUENTIAL_OFFLOAD, options);
}
