import { mkdirSync } from 'node:fs';
import type { Module } from '../../models/Module.js';
import type { Size } from '../../runtime/size.js';
import { configOf, writeConfig } from './config.js';
import { entryForSave, ownedParameters } from './modelWeights.js';
import { saveShardedCheckpoint, type SavedCheckpoint } from './save.js';
import { DEFAULT_WEIGHTS_NAME } from './shards.js';

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

/**
 * Writes `dir/config.json` (the @module class name and the constructor arguments) and the weights as
 * (sharded) safetensors. Each weight is read from its tier only when its shard is written, so saving holds
 * one tensor at a time. The config is written last: a folder with a config is complete.
 *
 * @example await model.savePretrained('./my-model', { maxShardSize: '2GB' });
 */
export function savePretrained(module: Module, dir: string, options: SavePretrainedOptions = {}): SavedCheckpoint {
  const { maxShardSize, weightsName = DEFAULT_WEIGHTS_NAME, torchLayouts = true } = options;
  const config = configOf(module); // refuses an undecorated class or unserializable arguments before writing
  const weights = new Map(ownedParameters(module, { torchLayouts }).map((p) => [p.name, entryForSave(p)]));
  mkdirSync(dir, { recursive: true });
  const saved = saveShardedCheckpoint(weights, dir, { maxShardSize, weightsName, metadata: { format: 'pt', layouts: torchLayouts ? 'pytorch' : 'memhooks' } });
  writeConfig(dir, config);
  return saved;
}
