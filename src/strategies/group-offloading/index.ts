export { applyGroupOffloading } from './applyGroupOffloading.js';
export { GroupOffloadingStrategy } from './GroupOffloadingStrategy.js';
export {
  GROUP_OFFLOADING,
  GROUP_OFFLOADING_HOOK,
  SEQUENTIAL_OFFLOAD,
  MODEL_CPU_OFFLOAD,
  DEVICE_MAP,
  OFFLOADING_STRATEGIES,
  offloadingConflicts,
} from '../shared/offloadingNames.js';
export { EARLY_UPLOAD_BACKENDS } from './stores.js';
export { OFFLOAD_TYPES, type OffloadType, type GroupOffloadingOptions, type GroupOffloadingConfig } from './options.js';
export { DeviceBudgetExceededError, DEFAULT_WASM_DEVICE_BUDGET, WASM_HEAP_CAP } from '../../runtime/budget.js';
