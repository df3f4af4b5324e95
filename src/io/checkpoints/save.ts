import { mkdirSync, readdirSync, rmSync } from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { assertRoomToWrite, diskWriteFailure } from '../../base/actionable.js';
import { parseSize, type Size } from '../../runtime/size.js';
import { writeFileAtomicSync } from '../atomicWrite.js';
import { dtypeBytes, isWritableDtype } from '../safetensors/dtypes.js';
import { saveSafetensorsSync, type LazyEntry, type SafetensorsEntry } from '../safetensors/write.js';
import { DEFAULT_WEIGHTS_NAME, indexFileName, isShardOf, planShards, shardFileName } from './shards.js';

export type CheckpointValue = SafetensorsEntry | LazyEntry | tf.Tensor;

export interface SaveShardedOptions {
  /** Largest shard (default '10GB', as transformers); a bigger single tensor gets a shard of its own. */
  maxShardSize?: Size;
  /** Default 'model.safetensors'; shards are `<stem>-00001-of-0000N.safetensors`. */
  weightsName?: string;
  /** `__metadata__` of every file (default { format: 'pt' }, which PyTorch loaders expect). */
  metadata?: Record<string, string>;
}

export interface SavedCheckpoint {
  /** Files written, in order (one unsuffixed file when everything fits in one shard). */
  files: string[];
  /** The index file, when sharded. */
  index: string | undefined;
  totalSize: number;
}

interface Planned {
  name: string;
  byteLength: number;
  value: CheckpointValue;
}

/**
 * Saves tensors as Hugging Face's sharded safetensors: `<stem>-0000i-of-0000N.safetensors` plus
 * `<weightsName>.index.json` ({ metadata: { total_size }, weight_map }), or one `<weightsName>` when it
 * all fits. Each file is written atomically, data files first and the index last (a crash leaves the
 * previous checkpoint readable), then shards or index left by an earlier save with other counts are removed.
 * The folder is created (parents too) when missing, and removed again when the save fails.
 *
 * @example
 * await saveShardedCheckpoint({ 'proj.weight': tensor }, './out', { maxShardSize: '2GB' });
 */
export function saveShardedCheckpoint(
  tensors: Record<string, CheckpointValue> | Map<string, CheckpointValue>,
  dir: string,
  options: SaveShardedOptions = {},
): SavedCheckpoint {
  const { maxShardSize = '10GB', weightsName = DEFAULT_WEIGHTS_NAME, metadata = { format: 'pt' } } = options;
  const maxBytes = parseSize(maxShardSize, 'maxShardSize');
  if (maxBytes <= 0) throw new InvalidArgumentError(`maxShardSize must be positive, got ${JSON.stringify(maxShardSize)}.`);
  const planned = [...(tensors instanceof Map ? tensors : Object.entries(tensors))].map(([name, value]) => plan(name, value));
  shardFileName(weightsName, 0, 1); // validates weightsName before anything is written
  const shards = planShards(planned, maxBytes);
  const files = shards.length === 1 ? [weightsName] : shards.map((_, i) => shardFileName(weightsName, i, shards.length));
  const created = makeFolder(dir);
  try {
    const bytesNeeded = planned.reduce((n, t) => n + t.byteLength, 0);
    try {
      assertRoomToWrite(dir, bytesNeeded);
    } catch (cause) {
      throw diskWriteFailure({ what: 'saveShardedCheckpoint', folder: dir, bytesNeeded }, cause, `saveShardedCheckpoint: no room in ${dir}.`);
    }
    return writeShards(shards, files, planned, dir, weightsName, metadata);
  } catch (error) {
    // A folder this save made holds nothing but what this save wrote.
    if (created !== undefined) rmSync(created, { recursive: true, force: true });
    throw error;
  }
}

/** Creates `dir` and its missing parents; returns the first folder created (undefined when it existed). */
function makeFolder(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new MemhooksError(
      ERROR_CODES.WRITE_FAILED,
      `saveShardedCheckpoint: could not create the folder ${dir} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); nothing was written. Pass a folder path that can be created, not a file.`,
      { cause },
    );
  }
}

/** The shards, then the index (when sharded), then the removal of what an earlier save of another count left. */
function writeShards(shards: Planned[][], files: string[], planned: Planned[], dir: string, weightsName: string, metadata: Record<string, string>): SavedCheckpoint {
  const single = shards.length === 1;
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards.length; i++) {
    const entries: Record<string, SafetensorsEntry | LazyEntry> = Object.create(null);
    for (const t of shards[i]!) {
      entries[t.name] = lazily(t);
      if (!single) Object.defineProperty(weightMap, t.name, { value: files[i], enumerable: true });
    }
    saveSafetensorsSync(join(dir, files[i]!), entries, metadata);
  }
  const totalSize = planned.reduce((a, t) => a + t.byteLength, 0);
  const index = single ? undefined : indexFileName(weightsName);
  if (index !== undefined) {
    writeFileAtomicSync(join(dir, index), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n');
  }
  removeStale(dir, weightsName, new Set([...files, ...(index === undefined ? [] : [index])]));
  return { files, index, totalSize };
}

function plan(name: string, value: CheckpointValue): Planned {
  if (value instanceof tf.Tensor) {
    if (value.dtype !== 'float32' && value.dtype !== 'int32' && value.dtype !== 'bool') {
      throw new InvalidArgumentError(`saveShardedCheckpoint: tensor ${JSON.stringify(name)} has dtype ${value.dtype}; only float32, int32 and bool can be saved.`);
    }
    return { name, byteLength: value.size * (value.dtype === 'bool' ? 1 : 4), value };
  }
  if (value === null || typeof value !== 'object' || !isWritableDtype(value.dtype) || !Array.isArray(value.shape)) {
    throw new InvalidArgumentError(`saveShardedCheckpoint: ${JSON.stringify(name)} must be a tf.Tensor or { dtype, shape, data | read() }.`);
  }
  return { name, byteLength: value.shape.reduce((a, d) => a * d, 1) * dtypeBytes(value.dtype), value };
}

/** Every value as an entry read when the writer reaches it: the writer holds one tensor's bytes at a time. */
function lazily(t: Planned): SafetensorsEntry | LazyEntry {
  const v = t.value;
  if (!(v instanceof tf.Tensor)) return v;
  const dtype = v.dtype === 'bool' ? 'BOOL' : v.dtype === 'float32' ? 'F32' : 'I32';
  return {
    dtype,
    shape: v.shape,
    read() {
      const values = v.dataSync();
      if (dtype === 'BOOL') return Uint8Array.from(values as Uint8Array);
      const typed = values as Float32Array | Int32Array;
      return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    },
  };
}

/** Shards, index or single file of the same weightsName that this save did not write. */
function removeStale(dir: string, weightsName: string, keep: Set<string>): void {
  for (const name of readdirSync(dir)) {
    if (keep.has(name)) continue;
    if (name === weightsName || name === indexFileName(weightsName) || isShardOf(name, weightsName)) rmSync(join(dir, name), { force: true });
  }
}
