// 'memhooks/plugin': what a plugin author needs to write a strategy (docs/plugins.md): the Strategy base and
// its registry, hooks, events, the device-budget check, the DI container, and the names of the built-in
// strategies (to declare conflicts with them). Users of the strategies import 'memhooks'.
// api/plugin.api.md records this surface; `npm run api:update` refreshes it after a deliberate change.

// The Reflect metadata polyfill must load before tsyringe and before any decorator runs.
import 'reflect-metadata';
// Fills the Module.fromPretrained/savePretrained slot (the loading floor sits above models).
import './loading/index.js';
import { memory } from './runtime/memory.js';

export { Strategy, type StrategyHandle, type Undo } from './strategies/Strategy.js';
export { strategy, registerStrategy, applyStrategy, appliedStrategies, strategyToken, type StrategyOptions } from './strategies/registry.js';
// A plugin adds its options to the map through the root entry, where users' applyStrategy reads it:
// `declare module 'memhooks' { interface StrategyOptionsMap { 'my-name': MyOptions } }`.
export type { StrategyOptionsMap, KnownStrategyName, OptionsOf } from './strategies/StrategyOptionsMap.js';
export { ModelHook, type NextForward } from './hooks/ModelHook.js';
export { HookRegistry, type HookHandle } from './hooks/HookRegistry.js';
export { emit as emitEvent, events, type MemhooksEvents, type TransferEvent, type HookEvent } from './runtime/events.js';
export { container, createContainer, type DependencyContainer } from './runtime/di.js';
export { DeviceBudgetExceededError } from './runtime/budget.js';
export { describeModule, describeParameter } from './models/paths.js';
export { getModuleOptions, type ModuleOptions } from './models/reflection.js';
export { moduleToken } from './models/decorators.js';
export { OUT_IN_LINEAR_BACKENDS } from './models/layers/index.js';
export { GROUP_OFFLOADING, SEQUENTIAL_OFFLOAD, MODEL_CPU_OFFLOAD, DEVICE_MAP } from './strategies/shared/offloadingNames.js';
export { LAYERWISE_CASTING } from './strategies/layerwise-casting/index.js';
export { BATCH_SLICING } from './strategies/slicing/index.js';
export { TILING } from './strategies/tiling/index.js';
export { ATTENTION_PROCESSOR } from './strategies/attention/index.js';

/**
 * For strategies that onload weights: throws DeviceBudgetExceededError, before anything is allocated, when
 * `bytes` more on the device would pass the budget in force (`memory.setDeviceBudget`, or the wasm default);
 * nothing happens when there is none. The built-in strategies run the same check.
 * @param bytes - What the onload would add to the device.
 * @param what - What is onloaded, for the message: 'group "blocks_0"', 'the weights of module "head"'.
 * @param advice - What the user can do instead, one or two sentences ending in a period (e.g. 'Use smaller
 *   groups.'); the message adds how to raise the budget unless the advice names memory.setDeviceBudget.
 */
export function assertDeviceBudget(bytes: number, what: string, advice?: string): void {
  memory.assertDeviceBudget(bytes, what, advice);
}
