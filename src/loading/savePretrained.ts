import { mkdirSync } from '../base/platform/fs.js';
import type { Module } from '../models/Module.js';
import { configOf, writeConfig } from './config.js';
import { entryForSave, ownedParameters } from './modelWeights.js';
import { saveShardedCheckpoint, type SavedCheckpoint } from '../io/checkpoints/save.js';
import { DEFAULT_WEIGHTS_NAME } from '../io/checkpoints/shards.js';

import { fillSavePretrained, type SavePretrainedOptions } from '../models/pretrainedSlot.js';

export type { SavePretrainedOptions };

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

// Module.savePretrained reaches this function through the slot that models/ declares.
fillSavePretrained(savePretrained);
