import type { AttentionProcessorStrategy } from './attention/setAttentionProcessor.js';
import type { ModelOffloadStrategy } from './cpu-offload/ModelOffloadStrategy.js';
import type { SequentialOffloadStrategy } from './cpu-offload/SequentialOffloadStrategy.js';
import type { DeviceMapStrategy } from './device-map/DeviceMapStrategy.js';
import type { GroupOffloadingStrategy } from './group-offloading/GroupOffloadingStrategy.js';
import type { LayerwiseCastingStrategy } from './layerwise-casting/LayerwiseCastingStrategy.js';
import type { BatchSlicing } from './slicing/applyBatchSlicing.js';
import type { Tiling } from './tiling/applyTiling.js';
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
 */
export interface StrategyOptionsMap {
  group_offloading: OptionsOf<GroupOffloadingStrategy>;
  sequential_offload: OptionsOf<SequentialOffloadStrategy>;
  model_cpu_offload: OptionsOf<ModelOffloadStrategy>;
  device_map: OptionsOf<DeviceMapStrategy>;
  layerwise_casting: OptionsOf<LayerwiseCastingStrategy>;
  batch_slicing: OptionsOf<BatchSlicing>;
  tiling: OptionsOf<Tiling>;
  attention_processor: OptionsOf<AttentionProcessorStrategy>;
}

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
