/**
 * The strategies the demo page offers, each for the models it makes sense on: the zoo pipeline through its
 * diffusers-style switches, the real upscaler (a wrapped tfjs LayersModel) through the apply functions.
 */
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  applyTiling,
  cpuOffloadWithHook,
  type Module,
  type StrategyHandle,
} from 'memhooks';
import { DIFFUSION_COMPONENT_NAMES, type DiffusionPipeline } from 'memhooks/zoo';

export type DemoModelName = 'pipeline' | 'upscaler';

export interface DemoStrategy {
  id: string;
  label: string;
  /** Whether it moves weights off the device between uses (its peak must sit below resident's). */
  offloads: boolean;
  pipeline?(p: DiffusionPipeline): void;
  upscaler?(root: Module): StrategyHandle[];
}

const LEAF_STREAM = { offloadType: 'leaf_level', useStream: true } as const;
const BLOCK = { offloadType: 'block_level', numBlocksPerGroup: 1 } as const;
/** Tiles of the upscaler's input, in pixels (its output is twice as large). */
const TILE = 48;

function castPipeline(p: DiffusionPipeline, storageDtype: 'bfloat16' | 'float8_e4m3fn'): void {
  for (const name of DIFFUSION_COMPONENT_NAMES) p.enableLayerwiseCasting(name, { storageDtype });
}

export const DEMO_STRATEGIES: readonly DemoStrategy[] = [
  { id: 'resident', label: 'resident (no strategy)', offloads: false, pipeline: () => {}, upscaler: () => [] },
  {
    id: 'group-leaf-stream',
    label: 'group offloading, leaf level + stream',
    offloads: true,
    pipeline: (p) => p.enableGroupOffload(LEAF_STREAM),
    upscaler: (root) => [applyGroupOffloading(root, LEAF_STREAM)],
  },
  {
    id: 'group-block',
    label: 'group offloading, block level (1 block per group)',
    offloads: true,
    pipeline: (p) => p.enableGroupOffload(BLOCK),
    upscaler: (root) => [applyGroupOffloading(root, BLOCK)],
  },
  {
    id: 'model-offload',
    label: 'model offload (one component on the device at a time)',
    offloads: true,
    pipeline: (p) => p.enableModelCpuOffload(),
    upscaler: (root) => [cpuOffloadWithHook(root)],
  },
  {
    id: 'sequential-offload',
    label: 'sequential offload (one leaf at a time)',
    offloads: true,
    pipeline: (p) => p.enableSequentialCpuOffload(),
    upscaler: (root) => [applySequentialOffload(root)],
  },
  {
    id: 'cast-bf16',
    label: 'layerwise casting, bfloat16 storage',
    offloads: false,
    pipeline: (p) => castPipeline(p, 'bfloat16'),
    upscaler: (root) => [applyLayerwiseCasting(root, { storageDtype: 'bfloat16' })],
  },
  {
    id: 'cast-fp8',
    label: 'layerwise casting, float8 (e4m3fn) storage',
    offloads: false,
    pipeline: (p) => castPipeline(p, 'float8_e4m3fn'),
    upscaler: (root) => [applyLayerwiseCasting(root, { storageDtype: 'float8_e4m3fn' })],
  },
  {
    id: 'tiling',
    label: `tiling (${TILE}-pixel tiles; upscaler only)`,
    offloads: false,
    upscaler: (root) => [applyTiling(root, { tileSize: TILE, outputScale: 2 })],
  },
  {
    id: 'group-leaf-stream-tiling',
    label: 'group offloading leaf + stream, and tiling (upscaler only)',
    offloads: true,
    upscaler: (root) => [applyGroupOffloading(root, LEAF_STREAM), applyTiling(root, { tileSize: TILE, outputScale: 2 })],
  },
];

export function demoStrategy(id: string): DemoStrategy {
  const found = DEMO_STRATEGIES.find((s) => s.id === id);
  if (found === undefined) throw new Error(`Unknown strategy "${id}": pick one of ${DEMO_STRATEGIES.map((s) => s.id).join(', ')}.`);
  return found;
}
