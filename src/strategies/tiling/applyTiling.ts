import { HookRegistry } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { applyStrategy, strategy } from '../registry.js';
import { Strategy, type StrategyHandle, type Undo } from '../Strategy.js';
import { resolveTilingOptions, type TilingOptions } from './options.js';
import { TILING, TilingHook } from './TilingHook.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    tiling: OptionsOf<Tiling>;
  }
}

@strategy(TILING)
export class Tiling extends Strategy<TilingOptions> {
  override validate(module: Module, options: TilingOptions): void {
    resolveTilingOptions(options, `applyTiling on ${describeModule(module)}`);
  }

  override apply(module: Module, options: TilingOptions): Undo {
    const hook = new TilingHook(resolveTilingOptions(options, `applyTiling on ${describeModule(module)}`));
    const handle = HookRegistry.checkIfExistsOrInitialize(module).registerHook(hook, TILING);
    return { remove: () => handle.remove() };
  }
}

/**
 * Runs an NHWC image-to-image module on overlapping tiles of `tileSize` input pixels and blends the
 * overlaps linearly, so that no seam shows (diffusers' `enable_vae_tiling`, on any module, wrapped tfjs
 * models included). The device then holds one tile's activations at a time. An input at or below one tile
 * runs untiled. Modules whose output depends on whole-image statistics (GroupNorm) give slightly different
 * results per tile; the blending hides the steps.
 *
 * @example
 * using handle = applyTiling(wrapLayersModel(upscaler), { tileSize: 64, outputScale: 2 });
 * const big = upscaler.predict(photo); // [1, 2H, 2W, 3], computed 64×64 input pixels at a time
 */
export function applyTiling(module: Module, options: TilingOptions): StrategyHandle {
  return applyStrategy(module, TILING, options);
}
