/**
 * Named strategy combinations the CLI can apply to any set of roots (`memhooks trace --strategy`): the
 * variants of the strategies benchmark, in words a command line can carry.
 */
import type { Module } from '../models/Module.js';
import { applySequentialOffload } from '../strategies/cpu-offload/applySequentialOffload.js';
import { applyGroupOffloading } from '../strategies/group-offloading/applyGroupOffloading.js';
import { applyLayerwiseCasting } from '../strategies/layerwise-casting/applyLayerwiseCasting.js';
import type { StrategyHandle } from '../strategies/Strategy.js';

type Apply = (root: Module) => StrategyHandle[];

const block = { offloadType: 'block_level', numBlocksPerGroup: 1 } as const;
const leaf = { offloadType: 'leaf_level' } as const;

export const STRATEGY_PRESETS: Readonly<Record<string, Apply>> = {
  resident: () => [],
  sequential: (m) => [applySequentialOffload(m)],
  'group-block': (m) => [applyGroupOffloading(m, block)],
  'group-block-stream': (m) => [applyGroupOffloading(m, { ...block, useStream: true })],
  'group-leaf': (m) => [applyGroupOffloading(m, leaf)],
  'group-leaf-stream': (m) => [applyGroupOffloading(m, { ...leaf, useStream: true })],
  'casting-fp8': (m) => [applyLayerwiseCasting(m, { storageDtype: 'float8_e4m3fn' })],
  'casting-bf16': (m) => [applyLayerwiseCasting(m, { storageDtype: 'bfloat16' })],
  // Cast first: the host copies and transfers are then a quarter of float32.
  'casting-fp8-group-leaf-stream': (m) => [applyLayerwiseCasting(m, { storageDtype: 'float8_e4m3fn' }), applyGroupOffloading(m, { ...leaf, useStream: true })],
};

export const STRATEGY_PRESET_NAMES = Object.keys(STRATEGY_PRESETS);

/** Applies a preset to every root; on failure removes what it had applied and rethrows. Returns how to undo it. */
export function applyPreset(name: string, roots: readonly Module[]): () => void {
  const handles: StrategyHandle[] = [];
  const undo = (): void => handles.reverse().forEach((h) => h.remove());
  try {
    for (const root of roots) handles.push(...STRATEGY_PRESETS[name]!(root));
  } catch (error) {
    undo();
    throw error;
  }
  return undo;
}
