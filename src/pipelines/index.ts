export { Pipeline, type PipelineGroupOffloadOptions } from './Pipeline.js';
export type { VaeTilingOptions } from './switches.js';
export type { Components } from './components.js';
export { MODEL_INDEX_NAME, type ModelIndex, type PipelineFromPretrainedOptions } from './folders.js';
export { assignComponentsToDevices } from './balanced.js';
export type { PipelinePlanOptions } from './planMemory.js';
