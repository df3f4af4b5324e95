export type { Device, DeviceMap, MaxMemory } from '../../models/deviceTypes.js';
export { computeModuleSizes, type ModuleSizeOptions } from './sizes.js';
export { inferAutoDeviceMap, cleanDeviceMap, type InferDeviceMapOptions } from './infer.js';
export { getBalancedMemory, type BalancedMemoryOptions } from './balanced.js';
export { defaultMaxMemory, type BudgetSource, type BudgetUsed, type DefaultMaxMemory } from './maxMemory.js';
export { validateDeviceMap, entryFor } from './placement.js';
export { dispatchModel, DeviceMapStrategy, type DispatchOptions } from './DeviceMapStrategy.js';
export { DEVICE_MAP_BACKEND_HOOK, DEVICE_MAP_DISK_HOOK, DEVICE_MAP_ONLOAD_HOOK } from './hooks.js';
