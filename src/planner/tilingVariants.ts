import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, type HookHandle } from '../hooks/HookRegistry.js';
import { ModelHook } from '../hooks/ModelHook.js';
import type { Module } from '../models/Module.js';
import { applyTiling } from '../strategies/tiling/index.js';
import { codeOf } from './code.js';
import { runSample } from './run.js';
import type { Variant } from './variants.js';

/**
 * Tiling as a planner variant. Its options are an image module's: the tile side and how many output pixels
 * one input pixel makes. The planner reads both off the sample: a unit whose first argument and output are
 * NHWC images, the output's sides the input's times one scale other than 1, is an image-to-image module (a
 * VAE decoder: ×8; an upscaler: ×2; an encoder: ÷8). Tiles are a half and a quarter of the input's longer side. Tiling blends tiles, so the
 * output is not bitwise the untiled one (GroupNorm statistics are per tile): lossless false.
 */
interface ImageShapes {
  input: readonly number[];
  output: readonly number[];
}

/** Records the first call's image shapes of a module. */
class ShapeHook extends ModelHook {
  input: readonly number[] | undefined;
  output: readonly number[] | undefined;

  override preForward(_m: Module, args: any[]): any[] {
    if (this.input === undefined && args[0] instanceof tf.Tensor) this.input = args[0].shape;
    return args;
  }

  override postForward(_m: Module, output: any): any {
    if (this.output === undefined && output instanceof tf.Tensor) this.output = output.shape;
    return output;
  }
}

/** One run of the sample with a hook on each unit: the units whose first call maps an NHWC image to one. */
async function imageShapes(units: readonly Module[], sample: () => unknown): Promise<Map<Module, ImageShapes>> {
  const hooks = new Map(units.map((u) => [u, new ShapeHook()] as const));
  const handles: HookHandle[] = [];
  try {
    for (const [u, hook] of hooks) handles.push(HookRegistry.checkIfExistsOrInitialize(u).registerHook(hook, 'memhooks:planner-shapes'));
    await runSample(sample);
  } finally {
    for (const h of handles) h.remove();
  }
  const found = new Map<Module, ImageShapes>();
  for (const [u, { input, output }] of hooks) {
    if (input?.length === 4 && output?.length === 4) found.set(u, { input, output });
  }
  return found;
}

/** The tiling options for an image of `shapes` cut in about `parts` per side, or undefined when it cannot be tiled so. */
function tilingFor({ input, output }: ImageShapes, parts: number): { tileSize: number; outputScale: number } | undefined {
  const [, h, w] = input as [number, number, number, number];
  const outputScale = output[1]! / h;
  // Scale 1 is left out: a model that keeps the image's size (a denoiser on latents) mostly needs all of it at once.
  if (!(outputScale > 0) || outputScale === 1 || output[2]! / w !== outputScale) return undefined;
  // Whole output pixels for the tile and its step (the overlap is a quarter of the tile): multiples of 4 (or of
  // 4 / scale when it shrinks) input pixels.
  const step = 4 * (outputScale < 1 ? Math.round(1 / outputScale) : 1);
  const tileSize = step * Math.ceil(Math.ceil(Math.max(h, w) / parts) / step);
  return tileSize < Math.max(h, w) ? { tileSize, outputScale } : undefined;
}

/** Tiling variants (a half and a quarter of the image's side) for the image-to-image units of the sample. */
export async function tilingVariants(units: readonly Module[], sample: () => unknown): Promise<Variant[]> {
  const shapes = await imageShapes(units, sample);
  const variants: Variant[] = [];
  for (const parts of [2, 4]) {
    const options = new Map<Module, { tileSize: number; outputScale: number }>();
    for (const [u, s] of shapes) {
      const o = tilingFor(s, parts);
      if (o !== undefined) options.set(u, o);
    }
    if (options.size === 0) continue;
    const sizes = [...new Set([...options.values()].map((o) => o.tileSize))].join('/');
    if (variants.some((v) => v.label === `tiling(${sizes})`)) continue; // a small image: a quarter rounds up to the half
    variants.push({
      label: `tiling(${sizes})`,
      lossless: false,
      lossy: false,
      calls: [...options.values()].map((o) => `applyTiling(<image module>, ${codeOf(o)})`).join('; '),
      apply: () => [...options].map(([u, o]) => applyTiling(u, o)),
    });
  }
  return variants;
}
