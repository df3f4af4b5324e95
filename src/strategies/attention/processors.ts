import { InvalidArgumentError } from '../../errors.js';
import { naiveAttentionProcessor, type AttentionProcessor } from '../../models/layers/Attention.js';
import { checkRows } from './checks.js';
import { chunkedAttentionProcessor } from './chunked.js';
import { slicedAttentionProcessor } from './sliced.js';

/** The built-in processors, by the names setAttentionProcessor accepts. */
export const ATTENTION_PROCESSORS = ['naive', 'sliced', 'chunked'] as const;
export type AttentionProcessorName = (typeof ATTENTION_PROCESSORS)[number];

export interface AttentionProcessorOptions {
  /** 'sliced': query rows per slice. Default 256. */
  sliceSize?: number;
  /** 'chunked': key/value rows per block. Default 128. */
  blockSize?: number;
}

export const DEFAULT_SLICE_SIZE = 256;
export const DEFAULT_BLOCK_SIZE = 128;

/**
 * Turns a name (or a custom processor) and options into the processor function; throws an
 * InvalidArgumentError listing the valid names for anything else.
 */
export function resolveProcessor(processor: unknown, options: unknown): AttentionProcessor {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError(`setAttentionProcessor(module, processor, opts): \`opts\` must be an object or omitted, got ${options === null ? 'null' : typeof options}.`);
  }
  const { sliceSize = DEFAULT_SLICE_SIZE, blockSize = DEFAULT_BLOCK_SIZE } = (options ?? {}) as AttentionProcessorOptions;
  checkRows(sliceSize, 'sliceSize', 'setAttentionProcessor');
  checkRows(blockSize, 'blockSize', 'setAttentionProcessor');
  if (typeof processor === 'function') return processor as AttentionProcessor;
  switch (processor) {
    case 'naive':
      return naiveAttentionProcessor;
    case 'sliced':
      return slicedAttentionProcessor(sliceSize);
    case 'chunked':
      return chunkedAttentionProcessor(blockSize);
    default:
      throw new InvalidArgumentError(
        `setAttentionProcessor: unknown processor ${typeof processor === 'string' ? `"${processor}"` : `(${processor === null ? 'null' : typeof processor})`}. ` +
          `Valid processors: ${ATTENTION_PROCESSORS.map((n) => `'${n}'`).join(', ')}, or a function (attn, q, k, v, opts) => output in q's layout.`,
      );
  }
}
