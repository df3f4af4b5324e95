/**
 * Module.savePretrained / Module.fromPretrained live on Module (floor "models") but are carried out by the
 * loading floor, which sits above it and imports Module. So Module never imports loading: it calls through
 * this slot, which src/loading fills when it is imported (the entry file 'memhooks' imports it). The option
 * types live here, on the lowest floor that uses them; loading re-exports them.
 */
import { InvalidArgumentError } from '../base/errors.js';
import type { SavedCheckpoint } from '../io/checkpoints/save.js';
import type { UrlReadOptions } from '../io/safetensors/httpRanges.js';
import type { Size } from '../runtime/size.js';
import type { DeviceMap, MaxMemory } from './deviceTypes.js';
import type { Module } from './Module.js';

/** With a folder URL, also how it is read (allowFullDownload, headers, fetch: docs/checkpoints.md). */
export interface FromPretrainedOptions extends UrlReadOptions {
  /**
   * Where each module's weights go: a map ({ 'blocks.0': 'device', 'blocks.1': 'host' }), 'auto'
   * (inferAutoDeviceMap under maxMemory) or 'balanced' (spread over the compute devices first). Default:
   * everything on the device.
   */
  deviceMap?: DeviceMap | 'auto' | 'balanced';
  /** Budgets for 'auto' / 'balanced', e.g. { device: '2GB', host: '16GB' }. */
  maxMemory?: MaxMemory;
  /** Classes never split by 'auto' (added to those declared @module({ noSplit: true })). */
  noSplitModuleClasses?: ReadonlyArray<string | Function>;
  /** Folder for weights mapped to 'disk'. */
  offloadFolder?: string;
  /** Default 'model.safetensors'. */
  weightsName?: string;
}

export interface SavePretrainedOptions {
  /** Largest shard (default '10GB'). */
  maxShardSize?: Size;
  /** Default 'model.safetensors' (diffusers uses 'diffusion_pytorch_model.safetensors'). */
  weightsName?: string;
  /**
   * Write weights in PyTorch's layouts (Linear [out, in], convs OIHW; default true), so that the folder
   * loads in diffusers/transformers with the same parameter names. false writes memhooks' own layouts
   * (Linear [in, out] on every backend, convs HWIO).
   */
  torchLayouts?: boolean;
}

type SaveFn = (module: Module, dir: string, options?: SavePretrainedOptions) => SavedCheckpoint;
type LoadFn = <M extends Module>(expected: Function | undefined, dir: string | URL, options?: FromPretrainedOptions) => Promise<M>;

interface PretrainedSlot {
  save?: SaveFn;
  load?: LoadFn;
}

// One slot per build (not process-global like the registry keys): each build's Module must build its own
// build's classes, so it must reach its own build's loading code.
const slot: PretrainedSlot = {};

/** Called by src/loading/savePretrained.ts when it loads. */
export function fillSavePretrained(fn: SaveFn): void {
  slot.save = fn;
}

/** Called by src/loading/fromPretrained.ts when it loads. */
export function fillFromPretrained(fn: LoadFn): void {
  slot.load = fn;
}

function unfilled(method: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `Module.${method} is carried out by memhooks' loading code, which was not loaded: import Module from 'memhooks' ` +
      `(the package entry), not from an internal file.`,
  );
}

export function savePretrainedSlot(): SaveFn {
  if (slot.save === undefined) throw unfilled('savePretrained');
  return slot.save;
}

export function fromPretrainedSlot(): LoadFn {
  if (slot.load === undefined) throw unfilled('fromPretrained');
  return slot.load;
}
