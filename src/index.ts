// 'memhooks': the user API, the names of DESIGN.md that a user calls. Every name is listed here on purpose
// (no `export *`): what plugin authors need is in './plugin.ts' ('memhooks/plugin'), the model zoo in
// './zoo.ts' ('memhooks/zoo'), and everything else is internal. api/memhooks.api.md records this surface;
// `npm run api:update` refreshes it after a deliberate change.

// The Reflect metadata polyfill must load before tsyringe and before any decorator runs.
import 'reflect-metadata';
// Fills the Module.fromPretrained/savePretrained slot (the loading floor sits above models).
import './loading/index.js';
import { memory as trackerWithTrace } from './diagnostics/memory.js';

export {
  MemhooksError,
  HookAlreadyRegisteredError,
  InvalidArgumentError,
  ParameterDisposedError,
  ParameterNotResidentError,
  StrategyConflictError,
  UnsupportedLayerError,
  UnsupportedModelError,
  ERROR_CODES,
  type ErrorCode,
} from './base/errors.js';
export { DeviceBudgetExceededError } from './runtime/budget.js';

// models
export { Module, type MemoryFootprint } from './models/Module.js';
export { Parameter, type HostValue, type ParameterOptions } from './models/Parameter.js';
export { ModuleList, Sequential } from './models/ModuleList.js';
export { module } from './models/decorators.js';
export { withParameterInit, type ParameterInitOptions } from './models/initContext.js';
export { getConstructorArgs, type ModuleOptions } from './models/reflection.js';
export type { StorageDtype, ComputeDtype, Tier, HostArray } from './models/dtypes.js';
export type { LowPrecisionDtype } from './dtypes/formats.js';
export type { Device, DeviceMap, MaxMemory } from './models/deviceTypes.js';
export {
  Linear,
  type LinearOptions,
  preferredLinearLayout,
  type LinearLayout,
  Conv2d,
  type Conv2dOptions,
  type Conv2dPadding,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
  RMSNorm,
  type RMSNormOptions,
  Embedding,
  type EmbeddingOptions,
  Attention,
  type AttentionConstructorOptions,
  type AttentionOptions,
  type AttentionProcessor,
  naiveAttentionProcessor,
  FeedForward,
  type FeedForwardOptions,
  type FeedForwardActivation,
  Dropout,
  GELU,
  type GELUOptions,
  type GeluApproximate,
  gelu,
  GEGLU,
  type GEGLUOptions,
  torchLayoutOf,
  registerTorchLayout,
  permutedLayout,
  type HostTensor,
  type TorchLayout,
  type TorchLayoutFactory,
} from './models/layers/index.js';

// hooks
export { ModelHook, type NextForward } from './hooks/ModelHook.js';
export { HookRegistry, type HookHandle } from './hooks/HookRegistry.js';

// runtime
/** What `memory` offers users: the tracker's statistics, peaks, budgets and trace (see {@link memory}). */
export type Memory = Omit<typeof trackerWithTrace, 'assertDeviceBudget'>;
/**
 * Device-memory accounting (stats, resetPeak, track, trace) and the device budget (setDeviceBudget). The
 * budget check that strategies run before an onload is for plugins: `assertDeviceBudget` from 'memhooks/plugin'.
 */
export const memory: Memory = trackerWithTrace;
export type { MemoryStats } from './runtime/memory.js';
export type { StorageUsage } from './base/platform/Platform.js';
export { opfsReady } from './base/platform/system.js';
export type { TraceDocument, TraceEvent, TraceOptions } from './diagnostics/trace.js';
export { parseSize, type Size } from './runtime/size.js';
export { events, type MemhooksEvents, type TransferEvent, type HookEvent } from './runtime/events.js';
export { useBackend } from './runtime/backends.js';
export { container, type DependencyContainer } from './runtime/di.js';

// strategies: applying them (writing one: 'memhooks/plugin')
export type { StrategyHandle } from './strategies/Strategy.js';
export { strategy, registerStrategy, applyStrategy, appliedStrategies, type StrategyOptions } from './strategies/registry.js';
// Plugins add their names to StrategyOptionsMap with `declare module 'memhooks' { interface StrategyOptionsMap { … } }`:
// always through 'memhooks' (TypeScript merges augmentations of a re-exported interface reliably through one module only).
export type { StrategyOptionsMap, KnownStrategyName, OptionsOf } from './strategies/StrategyOptionsMap.js';
export { applyGroupOffloading, type GroupOffloadingOptions, type OffloadType } from './strategies/group-offloading/index.js';
export { applyLayerwiseCasting, type LayerwiseCastingOptions, DEFAULT_SKIP_MODULES_PATTERN, type DecodeSite } from './strategies/layerwise-casting/index.js';
export {
  applySequentialOffload,
  type SequentialOffloadOptions,
  cpuOffloadWithHook,
  type CpuOffloadHandle,
  type CpuOffloadWithHookOptions,
} from './strategies/cpu-offload/index.js';
export { applyBatchSlicing, type BatchSlicingOptions } from './strategies/slicing/index.js';
export { applyTiling, type TilingOptions, measureSeams, type SeamReport } from './strategies/tiling/index.js';
export {
  setAttentionProcessor,
  type AttentionProcessorName,
  type AttentionProcessorOptions,
  slicedAttentionProcessor,
  chunkedAttentionProcessor,
} from './strategies/attention/index.js';
export {
  computeModuleSizes,
  type ModuleSizeOptions,
  inferAutoDeviceMap,
  type InferDeviceMapOptions,
  getBalancedMemory,
  type BalancedMemoryOptions,
  dispatchModel,
  type DispatchOptions,
  defaultMaxMemory,
  type DefaultMaxMemory,
  type BudgetSource,
  type BudgetUsed,
} from './strategies/device-map/index.js';

// checkpoints and files
export {
  saveSafetensors,
  saveSafetensorsSync,
  SafetensorsFile,
  SafetensorsSource,
  RangeReadError,
  type SafetensorsInput,
  type UrlReadOptions,
  type SafetensorsEntry,
  type LazyEntry,
  type TensorInfo,
  type SafetensorsDtype,
  type FileDtype,
} from './io/safetensors/index.js';
export {
  saveShardedCheckpoint,
  type SaveShardedOptions,
  type SavedCheckpoint,
  type CheckpointValue,
  loadShardedCheckpoint,
  openCheckpoint,
  checkpointTensors,
  type Checkpoint,
  type CheckpointTensor,
  type OpenCheckpointOptions,
  openRemoteCheckpoint,
  remoteCheckpointTensors,
  loadRemoteCheckpoint,
  type RemoteCheckpoint,
  type RemoteCheckpointTensor,
  type OpenRemoteCheckpointOptions,
  type LoadRemoteCheckpointOptions,
} from './io/checkpoints/index.js';
export { removeStaleTempFiles } from './io/atomicWrite.js';
export { deviceMapHandleOf, type FromPretrainedOptions, type SavePretrainedOptions, type ModelConfig } from './loading/index.js';

// pipelines
export {
  Pipeline,
  type PipelineGroupOffloadOptions,
  type Components,
  type PipelineFromPretrainedOptions,
  type VaeTilingOptions,
  type ModelIndex,
  type PipelinePlanOptions,
} from './pipelines/index.js';

// the memory planner (it also fills pipeline.planMemory's slot)
export {
  planMemory,
  PlanInfeasibleError,
  type PlanMemoryOptions,
  type PlanPrediction,
  type PlanCandidate,
  type PlanMeasurement,
  type MemoryPlan,
} from './planner/index.js';

// tfjs-layers models
export {
  wrapLayersModel,
  unwrapLayersModel,
  type WrapLayersModelOptions,
  type TfjsLayersModel,
  WrappedLayer,
  WrappedContainer,
  WrappedModel,
  INTERCEPTABLE_LAYER_CLASSES,
} from './adapters/layers-model/index.js';
// tfjs-converter GraphModels, as the public types name them (tfjs-converter is an optional peer)
export type { TfjsGraphModel } from './models/wrapped/TfjsGraphModel.js';
export { wrapGraphModel, unwrapGraphModel, getWrappedGraphModule, GraphScope, GraphModelScope, type GraphSegment, type GraphControlFlow, type WrapGraphModelOptions, type GraphHostWeights } from './adapters/graph-model/index.js';
