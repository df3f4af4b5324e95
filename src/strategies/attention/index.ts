export { setAttentionProcessor, AttentionProcessorStrategy, ATTENTION_PROCESSOR } from './setAttentionProcessor.js';
export {
  ATTENTION_PROCESSORS,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_SLICE_SIZE,
  type AttentionProcessorName,
  type AttentionProcessorOptions,
} from './processors.js';
export { slicedAttentionProcessor } from './sliced.js';
export { chunkedAttentionProcessor } from './chunked.js';
