/**
 * The variants of the `strategies` benchmark: each strategy applied to the zoo pipeline through its switches, as a
 * user would. Nothing here imports Node's modules: bench/strategies.ts runs them in Node, and the browser benchmark's
 * page (bench/browser/strategies.page.ts) runs the same ones, the disk tier's excepted, on webgl.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type DiffusionComponents, type DiffusionPipeline, DIFFUSION_COMPONENT_NAMES } from '../src/zoo.js';
import type { GroupOffloadingOptions } from '../src/index.js';

export interface StrategyVariant {
  name: string;
  /** Whether the strategy moves weights onto the device during a run (then it has a transfer floor). */
  moves: boolean;
  /** Applies the strategy through the pipeline's switches, as a user would. */
  apply(p: DiffusionPipeline, scratch: string): void;
  /** Its removal leaves the decoded (rounded) weights: the exact ones are put back after it. */
  lossy?: boolean;
  /** It offloads to files (in `scratch`): a page has no file system, so the browser benchmark leaves it out. */
  disk?: boolean;
}


const BLOCK = { offloadType: 'block_level', numBlocksPerGroup: 1 } as const;
const LEAF = { offloadType: 'leaf_level' } as const;

/** Group offloading of every component (to disk: the pipeline gives each component a folder of its own). */
function group(p: DiffusionPipeline, options: GroupOffloadingOptions, scratch?: string): void {
  p.enableGroupOffload(scratch === undefined ? options : { ...options, offloadToDiskPath: scratch });
}

function cast(p: DiffusionPipeline, storageDtype: 'float8_e4m3fn' | 'bfloat16'): void {
  for (const name of DIFFUSION_COMPONENT_NAMES) p.enableLayerwiseCasting(name, { storageDtype });
}

export const OFFLOADING_VARIANTS: readonly StrategyVariant[] = [
  { name: 'resident', moves: false, apply: () => {} },
  { name: 'model offload', moves: true, apply: (p) => p.enableModelCpuOffload() },
  { name: 'sequential offload', moves: true, apply: (p) => p.enableSequentialCpuOffload() },
  { name: 'group block(1)', moves: true, apply: (p) => group(p, BLOCK) },
  { name: 'group block(1) + stream', moves: true, apply: (p) => group(p, { ...BLOCK, useStream: true }) },
  { name: 'group leaf', moves: true, apply: (p) => group(p, LEAF) },
  { name: 'group leaf + stream', moves: true, apply: (p) => group(p, { ...LEAF, useStream: true }) },
  { name: 'disk block(1)', moves: true, disk: true, apply: (p, scratch) => group(p, BLOCK, scratch) },
  { name: 'disk block(1) + stream', moves: true, disk: true, apply: (p, scratch) => group(p, { ...BLOCK, useStream: true }, scratch) },
];

export const CASTING_VARIANTS: readonly StrategyVariant[] = [
  { name: 'resident', moves: false, apply: () => {} },
  { name: 'casting fp8 (e4m3fn)', moves: false, lossy: true, apply: (p) => cast(p, 'float8_e4m3fn') },
  { name: 'casting bf16', moves: false, lossy: true, apply: (p) => cast(p, 'bfloat16') },
  {
    name: 'casting fp8 + group leaf + stream',
    moves: true,
    lossy: true,
    apply(p) {
      cast(p, 'float8_e4m3fn');
      group(p, { ...LEAF, useStream: true });
    },
  },
];

/**
 * Exact host copies of every weight, to undo the rounding that removing a casting strategy leaves (it is
 * lossy once). Kept on the host so that they do not count in any variant's device peak.
 */
export function snapshot(c: DiffusionComponents): { restore(): void } {
  const saved = DIFFUSION_COMPONENT_NAMES.flatMap((name) => c[name].parameters().map((p) => [p, p.read().dataSync().slice()] as const));
  return {
    restore: () =>
      saved.forEach(([p, data]) => {
        const t = tf.tensor(data, p.shape as number[], p.dtype);
        p.assign(t);
        t.dispose();
      }),
  };
}
