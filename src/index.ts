// The Reflect metadata polyfill must load before tsyringe and before any decorator runs.
import 'reflect-metadata';

export * from './errors.js';
export { Module, type MemoryFootprint } from './models/Module.js';
export { Parameter, type HostValue, type ParameterOptions } from './models/Parameter.js';
export { ModuleList, Sequential } from './models/ModuleList.js';
export { module, moduleToken } from './models/decorators.js';
export { withParameterInit, type ParameterInitOptions } from './models/initContext.js';
export { getModuleOptions, getConstructorArgs, type ModuleOptions } from './models/reflection.js';
export { describeModule, describeParameter } from './models/paths.js';
export * from './models/dtypes.js';
export { ModelHook, type NextForward } from './hooks/ModelHook.js';
export { HookRegistry, type HookHandle } from './hooks/HookRegistry.js';
export { memory, type MemoryStats } from './runtime/memory.js';
export { parseSize, type Size } from './runtime/size.js';
export { events, type MemhooksEvents, type TransferEvent, type HookEvent } from './runtime/events.js';
export { formatBytes } from './runtime/format.js';
export { container, createContainer, type DependencyContainer } from './runtime/di.js';
export { Strategy, type StrategyHandle, type Undo } from './strategies/Strategy.js';
export { strategy, registerStrategy, applyStrategy, appliedStrategies, strategyToken } from './strategies/registry.js';
export * from './models/layers/index.js';
export * from './models/wrap/index.js';
export * from './models/zoo/index.js';
export { useBackend } from './runtime/backends.js';
export { writeFileAtomic, removeStaleTempFiles, type AtomicWriteOptions, type WriteData } from './io/atomicWrite.js';
export { resolveFileInside, isPlainFileName } from './io/safePaths.js';
