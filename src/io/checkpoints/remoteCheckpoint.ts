import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { isPlainFileName } from '../safePaths.js';
import { RangeReadError } from '../safetensors/byteRanges.js';
import type { TensorInfo } from '../safetensors/header.js';
import { fetchText, httpUrl, type UrlReadOptions } from '../safetensors/httpRanges.js';
import { decodeValues } from '../safetensors/SafetensorsFile.js';
import { SafetensorsSource } from '../safetensors/SafetensorsSource.js';
import { MAX_INDEX_BYTES, parseIndex } from './openCheckpoint.js';
import { DEFAULT_WEIGHTS_NAME, indexFileName, splitWeightsName } from './shards.js';

/** A checkpoint on a server whose shard URLs have all been validated; no shard has been read yet. */
export interface RemoteCheckpoint {
  /** The URL the checkpoint was opened from (a file, an index or a folder). */
  url: string;
  /** Absolute URLs of the safetensors files, in the order their tensors are loaded. */
  files: string[];
  /** Tensor name → URL of the file holding it. */
  weightMap: Map<string, string>;
  /** The index URL, when the checkpoint is sharded. */
  index: string | undefined;
  /** How every file is read (allowFullDownload, headers, fetch). */
  options: UrlReadOptions;
}

export interface OpenRemoteCheckpointOptions extends UrlReadOptions {
  /** For a folder URL: default 'model.safetensors', the single file, or the stem of the shards and index. */
  weightsName?: string;
}

/**
 * Opens a checkpoint on a server: the URL of a `*.safetensors` file, of a `*.safetensors.index.json`, or of a
 * folder (ending in `/`) holding `<weightsName>` or else `<weightsName>.index.json`, as transformers looks.
 * Every shard an index names must be one plain `*.safetensors` file name that resolves inside the index's own
 * folder on the same origin (no `..`, `/`, `\`, `%`, absolute URLs or other hosts): all are checked before
 * any shard is requested, so a tampered index fetches nothing.
 *
 * @example
 * const ckpt = await openRemoteCheckpoint('https://example.com/unet/model.safetensors.index.json');
 */
export async function openRemoteCheckpoint(url: string | URL, options: OpenRemoteCheckpointOptions = {}): Promise<RemoteCheckpoint> {
  const { weightsName = DEFAULT_WEIGHTS_NAME, ...read } = options;
  splitWeightsName(weightsName);
  const href = httpUrl(url);
  const path = new URL(href).pathname;
  if (path.endsWith('.safetensors.index.json')) return openIndex(href, href, read);
  if (path.endsWith('.safetensors')) return openSingle(href, href, read);
  const folder = path.endsWith('/') ? href : new URL(`${path}/`, href).href;
  const single = new URL(weightsName, folder).href;
  try {
    return await openSingle(href, single, read);
  } catch (error) {
    if (!(error instanceof RangeReadError && error.status === 404)) throw error;
  }
  const index = new URL(indexFileName(weightsName), folder).href;
  try {
    return await openIndex(href, index, read);
  } catch (error) {
    if (!(error instanceof RangeReadError && error.status === 404)) throw error;
    throw new MemhooksError(
      ERROR_CODES.INVALID_ARGUMENT,
      `No checkpoint at ${folder}: neither ${weightsName} nor ${indexFileName(weightsName)} exists there (404). Check the URL, or pass the weightsName it was saved with.`,
      { cause: error },
    );
  }
}

async function openSingle(url: string, file: string, options: UrlReadOptions): Promise<RemoteCheckpoint> {
  const source = await SafetensorsSource.openUrl(file, options);
  try {
    return { url, files: [file], weightMap: new Map(source.keys().map((k) => [k, file])), index: undefined, options };
  } finally {
    source.close();
  }
}

async function openIndex(url: string, index: string, options: UrlReadOptions): Promise<RemoteCheckpoint> {
  const weightMap = parseIndex(await fetchText(index, MAX_INDEX_BYTES, 'the checkpoint index', options), index);
  const resolved = new Map<string, string>();
  for (const name of new Set(weightMap.values())) resolved.set(name, resolveShardUrl(index, name));
  const map = new Map([...weightMap].map(([tensor, name]) => [tensor, resolved.get(name)!]));
  return { url, files: [...resolved.values()], weightMap: map, index, options };
}

/**
 * The URL of a shard named by an index: the path-traversal rules of local folders (reliability.md B2) for
 * URLs. The name must be a plain `*.safetensors` file name without `%` (an encoded `/` or `..` would reach the
 * server decoded), and the resolved URL must be in the index's folder on its origin, without query or fragment.
 */
export function resolveShardUrl(indexUrl: string, name: unknown): string {
  const refuse = (why: string) =>
    new MemhooksError(ERROR_CODES.UNSAFE_PATH, `The index ${indexUrl} names the shard ${JSON.stringify(name)}, which ${why}; it is refused (the index may have been tampered with).`);
  if (typeof name !== 'string' || !isPlainFileName(name) || /[%#]/.test(name)) {
    throw refuse(`is not a plain file name in the index's folder (no '/', '\\\\', '%', '#', ':', '.' or '..')`);
  }
  if (!name.endsWith('.safetensors')) throw refuse('is not a .safetensors file');
  const base = new URL(indexUrl);
  const resolved = new URL(name, base);
  const folder = base.pathname.slice(0, base.pathname.lastIndexOf('/') + 1);
  const rest = resolved.pathname.slice(folder.length);
  if (resolved.origin !== base.origin || !resolved.pathname.startsWith(folder) || rest.includes('/') || resolved.search !== '' || resolved.hash !== '') {
    throw refuse(`resolves to ${resolved.href}, outside the index's folder ${base.origin}${folder}`);
  }
  return resolved.href;
}

export interface RemoteCheckpointTensor {
  name: string;
  info: TensorInfo;
  /** The open shard (valid only until the next tensor of another shard is yielded). */
  source: SafetensorsSource;
}

/**
 * Visits every tensor of a remote checkpoint shard by shard (each shard's header read once): nothing but headers
 * is requested until the visitor reads a tensor, one ranged request each. A tensor the index maps to a shard
 * that does not hold it is an error naming both.
 */
export async function* remoteCheckpointTensors(checkpoint: RemoteCheckpoint): AsyncGenerator<RemoteCheckpointTensor> {
  for (const url of checkpoint.files) {
    const wanted = [...checkpoint.weightMap].filter(([, u]) => u === url).map(([name]) => name);
    const source = await SafetensorsSource.openUrl(url, checkpoint.options);
    try {
      const missing = wanted.filter((name) => !source.has(name));
      if (missing.length > 0) {
        throw new MemhooksError(
          ERROR_CODES.CHECKPOINT_MISMATCH,
          `The checkpoint index maps ${missing.map((m) => JSON.stringify(m)).join(', ')} to ${url}, which does not hold ${missing.length === 1 ? 'it' : 'them'}. The index and the shards come from different saves.`,
        );
      }
      const order = new Map(source.keys().map((k, i) => [k, i]));
      wanted.sort((a, b) => order.get(a)! - order.get(b)!);
      for (const name of wanted) yield { name, info: source.info(name), source };
    } finally {
      source.close();
    }
  }
}

export interface LoadRemoteCheckpointOptions extends OpenRemoteCheckpointOptions {
  /** Called after each tensor is on the backend (progress bars, memory sampling). */
  onTensor?(event: { name: string; bytes: number }): void;
}

/**
 * loadShardedCheckpoint for a URL: tensors on the active backend, keyed by name, each read with its own ranged
 * request into an array that becomes the tensor's memory (low-precision dtypes decoded to float32); the host
 * never holds a shard. All or nothing: a failure disposes what was loaded.
 *
 * @example
 * const weights = await loadRemoteCheckpoint('https://example.com/unet/'); // dispose them when done
 */
export async function loadRemoteCheckpoint(url: string | URL, options: LoadRemoteCheckpointOptions = {}): Promise<Map<string, tf.Tensor>> {
  const { onTensor, ...open } = options;
  const checkpoint = await openRemoteCheckpoint(url, open);
  const out = new Map<string, tf.Tensor>();
  try {
    for await (const { name, info, source } of remoteCheckpointTensors(checkpoint)) {
      const values = decodeValues(info, await source.readBytes(name), name, source.location);
      out.set(name, tf.tensor(values, info.shape, info.dtype === 'BOOL' ? 'bool' : values instanceof Float32Array ? 'float32' : 'int32'));
      onTensor?.({ name, bytes: info.byteLength });
    }
  } catch (error) {
    for (const t of out.values()) t.dispose();
    throw error;
  }
  return out;
}
