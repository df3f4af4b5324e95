import { Attention } from '../models/layers/Attention.js';
import type { Module } from '../models/Module.js';
import { setAttentionProcessor } from '../strategies/attention/index.js';
import { applyLayerwiseCasting } from '../strategies/layerwise-casting/index.js';
import { applyBatchSlicing } from '../strategies/slicing/index.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { codeOf } from './code.js';
import { LOSSY_DTYPES, type LossyName } from './options.js';

/**
 * What the planner may apply beside group offloading, each measured on the sample (traced once, with its
 * own profile) rather than predicted: casting changes the weights' bytes and adds decoding, and the
 * activation strategies change the activation peak in ways only a run shows. Group offloading is applied
 * after a variant, so that it wraps it.
 */
export interface Variant {
  /** '' for nothing beside offloading; else what a candidate's name starts with ('fp8', 'sliced attention'). */
  readonly label: string;
  /** Bitwise the plain model's outputs (batch slicing is; casting and the attention processors are not). */
  readonly lossless: boolean;
  /** Casting: offered only with allowLossy. */
  readonly lossy: boolean;
  /** What apply() calls, for describe(); '' for nothing. */
  readonly calls: string;
  /** Applies it to the root (or the units group offloading will take); the handles come off in reverse. */
  apply(root: Module, units: readonly Module[]): StrategyHandle[];
}

export const PLAIN: Variant = { label: '', lossless: true, lossy: false, calls: '', apply: () => [] };

/** The casting variants allowLossy allows: 'bf16' → bf16; 'fp8' → bf16 and fp8 (fp8 allows the milder one too). */
export function castingVariants(allow: LossyName | undefined): Variant[] {
  const names: LossyName[] = allow === undefined ? [] : allow === 'bf16' ? ['bf16'] : ['bf16', 'fp8'];
  return names.map(castingVariant);
}

export function castingVariant(name: LossyName): Variant {
  return {
    label: name,
    lossless: false,
    lossy: true,
    calls: `applyLayerwiseCasting(root, { storageDtype: '${LOSSY_DTYPES[name]}' })`,
    apply: (root) => [applyLayerwiseCasting(root, { storageDtype: LOSSY_DTYPES[name] })],
  };
}

/**
 * The activation strategies the planner covers: batch slicing (one sample at a time) on each unit, and the
 * 'sliced' and 'chunked' attention processors where the tree has Attention modules. Tiling, whose options
 * are read off the sample, is in tilingVariants.ts.
 */
export function activationVariants(root: Module): Variant[] {
  const variants: Variant[] = [
    {
      label: 'batch slicing',
      lossless: true,
      lossy: false,
      calls: 'applyBatchSlicing(root, { sliceSize: 1 }) (on each module the sample runs when not the root)',
      apply: (_root, units) => units.map((u) => applyBatchSlicing(u, { sliceSize: 1 })),
    },
  ];
  if (root.modules().some((m) => m instanceof Attention)) {
    for (const [processor, opts] of [['sliced', { sliceSize: 64 }], ['chunked', { blockSize: 64 }]] as const) {
      variants.push({
        label: `${processor} attention`,
        lossless: false,
        lossy: false,
        calls: `setAttentionProcessor(root, '${processor}', ${codeOf(opts)})`,
        apply: (r) => [setAttentionProcessor(r, processor, opts)],
      });
    }
  }
  return variants;
}
