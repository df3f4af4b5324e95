import type { Module } from '../../models/Module.js';
import { applyStrategy } from '../registry.js';
import type { StrategyHandle } from '../Strategy.js';
import './GroupOffloadingStrategy.js';
import { GROUP_OFFLOADING } from '../shared/offloadingNames.js';
import type { GroupOffloadingOptions } from './options.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';
import type { GroupOffloadingStrategy } from './GroupOffloadingStrategy.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    group_offloading: OptionsOf<GroupOffloadingStrategy>;
  }
}

/**
 * Runs `module` with only some of its weights on the device at a time: groups of weights are onloaded just
 * before the modules that use them and offloaded right after (diffusers' apply_group_offloading).
 * Every option is checked before anything changes; handle.remove() puts every weight back on the device.
 *
 * @example
 * const handle = applyGroupOffloading(model, { offloadType: 'leaf_level', useStream: true });
 * model.forward(x);   // bitwise the same output, a fraction of the device memory
 * handle.remove();
 */
export function applyGroupOffloading(module: Module, options: GroupOffloadingOptions = {}): StrategyHandle {
  return applyStrategy(module, GROUP_OFFLOADING, options);
}
