import { InvalidArgumentError } from '../../base/errors.js';
import { checkOptionKeys } from '../optionKeys.js';
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

/** The keys of AttentionProcessorOptions, for the unknown-key check. */
const OPTION_KEYS = ['sliceSize', 'blockSize'] as const;

/**
 * Turns a name (or a custom processor) and options into the processor function; throws an
 * InvalidArgumentError naming `fn` for an unknown option key, a bad size, or an unknown name (listing the
 * valid names).
 */
export function resolveProcessor(processor: unknown, options: unknown, fn = 'setAttentionProcessor'): AttentionProcessor {
  const { sliceSize = DEFAULT_SLICE_SIZE, blockSize = DEFAULT_BLOCK_SIZE } = checkOptionKeys(`${fn}: \`opts\``, options, OPTION_KEYS) as AttentionProcessorOptions;
  checkRows(sliceSize, 'sliceSize', fn);
  checkRows(blockSize, 'blockSize', fn);
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
        `${fn}: unknown processor ${typeof processor === 'string' ? `"${processor}"` : `(${processor === null ? 'null' : typeof processor})`}. ` +
          `Valid processors: ${ATTENTION_PROCESSORS.map((n) => `'${n}'`).join(', ')}, or a function (attn, q, k, v, opts) => output in q's layout.`,
      );
  }
}
