import type { Strategy } from './Strategy.js';

/** The options type a strategy class's `apply` takes. */
export type OptionsOf<S extends Strategy<never>> = Parameters<S['apply']>[1];

/**
 * Strategy name → the options `applyStrategy(module, name, options)` takes for it. A plugin adds its own
 * name by declaration merging, and its options are then checked like the built-ins':
 *
 * @example
 * declare module 'memhooks' {
 *   interface StrategyOptionsMap {
 *     'device-bytes-logger': DeviceBytesLoggerOptions;
 *   }
 * }
 *
 * Each built-in strategy adds its own entry the same way, in the file that defines it, so that this base file
 * never imports a strategy folder.
 */
export interface StrategyOptionsMap {}

/** A name declared in StrategyOptionsMap. */
export type KnownStrategyName = keyof StrategyOptionsMap;

/**
 * The public function users call for each built-in strategy, so that a refusal names what they wrote
 * (`applySequentialOffload(…) needs a memhooks Module`) rather than the applyStrategy it goes through.
 */
export const BUILT_IN_ENTRY_POINTS: Readonly<Record<string, string | undefined>> = {
  group_offloading: 'applyGroupOffloading',
  sequential_offload: 'applySequentialOffload',
  model_cpu_offload: 'cpuOffloadWithHook',
  device_map: 'dispatchModel',
  layerwise_casting: 'applyLayerwiseCasting',
  batch_slicing: 'applyBatchSlicing',
  tiling: 'applyTiling',
  attention_processor: 'setAttentionProcessor',
};
