export { applyBatchSlicing, BatchSlicing, type BatchSlicingOptions } from './applyBatchSlicing.js';
export { BatchSlicingHook, BATCH_SLICING } from './BatchSlicingHook.js';
