import { closeSync, fstatSync, lstatSync, openSync, readSync } from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { resolveFileInside } from '../safePaths.js';
import { SafetensorsFile } from '../safetensors/SafetensorsFile.js';
import type { TensorInfo } from '../safetensors/header.js';
import { JsonNumber, parseStrictJson, type JsonValue } from '../safetensors/strictJson.js';
import { DEFAULT_WEIGHTS_NAME, indexFileName, splitWeightsName } from './shards.js';

/** An index bigger than this is refused before it is read (a real one is kilobytes per thousand tensors). */
export const MAX_INDEX_BYTES = 64 * 2 ** 20;

/** A checkpoint folder whose file names have all been validated; no shard has been read yet. */
export interface Checkpoint {
  dir: string;
  /** Absolute paths of the safetensors files, in the order their tensors are loaded. */
  files: string[];
  /** Tensor name → absolute path of the file holding it. */
  weightMap: Map<string, string>;
  /** The index file, when the checkpoint is sharded. */
  index: string | undefined;
}

export interface OpenCheckpointOptions {
  /** Default 'model.safetensors': the single file, or the stem of the shards and index. */
  weightsName?: string;
}

/**
 * Finds a checkpoint in `dir` as transformers does: the single `<weightsName>` first, else
 * `<weightsName>.index.json`. Every file the index names must be one plain `*.safetensors` file name that
 * resolves to a regular file inside `dir` (no `..`, absolute paths, separators, links or devices): all are
 * checked before any shard is opened, so a tampered index reads nothing (reliability.md B2).
 */
export function openCheckpoint(dir: string, options: OpenCheckpointOptions = {}): Checkpoint {
  const { weightsName = DEFAULT_WEIGHTS_NAME } = options;
  splitWeightsName(weightsName);
  if (exists(join(dir, weightsName))) {
    const path = resolveFileInside(dir, weightsName, `The checkpoint ${weightsName}`);
    const file = SafetensorsFile.open(path);
    try {
      return { dir, files: [path], weightMap: new Map(file.keys().map((k) => [k, path])), index: undefined };
    } finally {
      file.close();
    }
  }
  const indexName = indexFileName(weightsName);
  if (!exists(join(dir, indexName))) {
    throw new MemhooksError(
      ERROR_CODES.INVALID_ARGUMENT,
      `No checkpoint in ${dir}: neither ${weightsName} nor ${indexName} exists. Save one with saveShardedCheckpoint or savePretrained, or pass the weightsName it was saved with.`,
    );
  }
  const indexPath = resolveFileInside(dir, indexName, 'The checkpoint index');
  const weightMap = parseIndex(readBounded(indexPath), indexPath);
  const resolved = new Map<string, string>();
  for (const name of new Set(weightMap.values())) {
    if (!name.endsWith('.safetensors')) {
      throw new MemhooksError(ERROR_CODES.UNSAFE_PATH, `The index ${indexPath} names the shard ${JSON.stringify(name)}, which is not a .safetensors file; it is refused.`);
    }
    resolved.set(name, resolveFileInside(dir, name, `The index ${indexPath}`));
  }
  const map = new Map([...weightMap].map(([tensor, name]) => [tensor, resolved.get(name)!]));
  return { dir, files: [...resolved.values()], weightMap: map, index: indexPath };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function readBounded(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_INDEX_BYTES) throw badIndex(path, `it is ${size} bytes, above the ${MAX_INDEX_BYTES}-byte limit`);
    const bytes = new Uint8Array(size);
    for (let done = 0; done < size; ) {
      const n = readSync(fd, bytes, done, size - done, done);
      if (n === 0) throw badIndex(path, 'it shrank while being read');
      done += n;
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    if (cause instanceof MemhooksError) throw cause;
    throw badIndex(path, 'it could not be read as UTF-8 text', cause);
  } finally {
    closeSync(fd);
  }
}

function badIndex(path: string, what: string, cause?: unknown): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.INVALID_SAFETENSORS,
    `The checkpoint index ${path} is invalid: ${what}. Re-save the checkpoint or restore the index.`,
    cause === undefined ? undefined : { cause },
  );
}

/** { metadata?: { total_size?: integer, ... }, weight_map: { tensor: file } }, strictly (no duplicate keys). */
export function parseIndex(text: string, path: string): Map<string, string> {
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (cause) {
    throw badIndex(path, 'it is not valid JSON', cause);
  }
  if (!(root instanceof Map)) throw badIndex(path, 'it is not a JSON object');
  const metadata = root.get('metadata');
  if (metadata !== undefined && !(metadata instanceof Map)) throw badIndex(path, '"metadata" is not an object');
  const total = metadata?.get('total_size');
  if (total !== undefined && !(total instanceof JsonNumber && /^\d+$/.test(total.raw))) throw badIndex(path, 'metadata.total_size is not a non-negative integer');
  const map = root.get('weight_map');
  if (!(map instanceof Map)) throw badIndex(path, 'it has no "weight_map" object');
  const out = new Map<string, string>();
  for (const [tensor, file] of map) {
    if (typeof file !== 'string') throw badIndex(path, `weight_map[${JSON.stringify(tensor)}] is not a file name`);
    out.set(tensor, file);
  }
  return out;
}

export interface CheckpointTensor {
  name: string;
  info: TensorInfo;
  /** The open shard (valid only until the next tensor of another shard is yielded). */
  file: SafetensorsFile;
}

/**
 * Visits every tensor of the checkpoint shard by shard, each shard opened once and closed before the next:
 * nothing is read until the visitor reads it, so peak memory is what the visitor keeps. A tensor the index
 * maps to a shard that does not hold it is an error naming both.
 */
export function* checkpointTensors(checkpoint: Checkpoint): Generator<CheckpointTensor> {
  for (const path of checkpoint.files) {
    const wanted = [...checkpoint.weightMap].filter(([, p]) => p === path).map(([name]) => name);
    const file = SafetensorsFile.open(path);
    try {
      const missing = wanted.filter((name) => !file.has(name));
      if (missing.length > 0) {
        throw new MemhooksError(
          ERROR_CODES.CHECKPOINT_MISMATCH,
          `The checkpoint index maps ${missing.map((m) => JSON.stringify(m)).join(', ')} to ${path}, which does not hold ${missing.length === 1 ? 'it' : 'them'}. The index and the shards come from different saves.`,
        );
      }
      const order = new Map(file.keys().map((k, i) => [k, i]));
      wanted.sort((a, b) => order.get(a)! - order.get(b)!);
      for (const name of wanted) yield { name, info: file.info(name), file };
    } finally {
      file.close();
    }
  }
}
