import { existsSync, readdirSync } from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { formatBytes } from '../../base/format.js';
import type { FileDtype } from '../safetensors/dtypes.js';
import { SafetensorsFile } from '../safetensors/SafetensorsFile.js';
import { checkpointTensors, openCheckpoint } from './openCheckpoint.js';
import { DEFAULT_WEIGHTS_NAME, indexFileName } from './shards.js';

export interface CheckpointTensorSummary {
  name: string;
  dtype: FileDtype;
  shape: number[];
  bytes: number;
}

/** What a checkpoint folder holds, read from the safetensors headers alone (no tensor data). */
export interface CheckpointSummary {
  dir: string;
  weightsName: string;
  tensors: CheckpointTensorSummary[];
  bytes: number;
  /** The files' `layouts` metadata ('pytorch' or 'memhooks'), when savePretrained wrote it. */
  layouts: string | undefined;
}

/**
 * The weights file a folder holds: `model.safetensors` (or its index) when present, else the only
 * `*.safetensors.index.json`, else the only `*.safetensors` that is not a shard. savePretrained may have been
 * given another weightsName (diffusers' `diffusion_pytorch_model.safetensors`), and config.json does not say.
 */
export function findWeightsName(dir: string): string {
  if (existsSync(join(dir, DEFAULT_WEIGHTS_NAME)) || existsSync(join(dir, indexFileName(DEFAULT_WEIGHTS_NAME)))) return DEFAULT_WEIGHTS_NAME;
  const names = readdirSync(dir);
  const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
  if (indexes.length === 1) return indexes[0]!.slice(0, -'.index.json'.length);
  const singles = names.filter((n) => n.endsWith('.safetensors') && !/-\d{5}-of-\d{5}\.safetensors$/.test(n));
  if (indexes.length === 0 && singles.length === 1) return singles[0]!;
  throw new MemhooksError(
    ERROR_CODES.INVALID_ARGUMENT,
    indexes.length + singles.length === 0
      ? `No checkpoint in ${dir}: it holds no .safetensors file nor index. Point at a folder written by savePretrained or saveShardedCheckpoint.`
      : `${dir} holds several checkpoints (${[...indexes, ...singles].join(', ')}), so which one to read is unclear. Move the others away.`,
  );
}

/** Reads every tensor's name, dtype and shape from the headers of the folder's checkpoint, shard by shard. */
export function describeCheckpoint(dir: string, weightsName = findWeightsName(dir)): CheckpointSummary {
  const checkpoint = openCheckpoint(dir, { weightsName });
  const tensors: CheckpointTensorSummary[] = [];
  for (const { name, info } of checkpointTensors(checkpoint)) tensors.push({ name, dtype: info.dtype, shape: [...info.shape], bytes: info.byteLength });
  const first = SafetensorsFile.open(checkpoint.files[0]!);
  let layouts: string | undefined;
  try {
    layouts = first.metadata()['layouts'];
  } finally {
    first.close();
  }
  return summarize(dir, weightsName, tensors, layouts);
}

/** The summary of the tensors read from the headers (a folder's or a URL's), in name order. */
export function summarize(dir: string, weightsName: string, tensors: CheckpointTensorSummary[], layouts: string | undefined): CheckpointSummary {
  // Files order tensors by alignment and name; by name with numbered segments in number order reads as a model does.
  tensors.sort((a, b) => compareNames(a.name, b.name));
  return { dir, weightsName, tensors, bytes: tensors.reduce((n, t) => n + t.bytes, 0), layouts };
}

/** 'blocks.2.x' before 'blocks.10.x': dotted names compared segment by segment, numbers as numbers. */
function compareNames(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const numeric = /^\d+$/.test(x[i]!) && /^\d+$/.test(y[i]!);
    return numeric ? Number(x[i]) - Number(y[i]) : x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

/**
 * The module tree implied by the dotted tensor names, in the style of Module.toString: one line per module
 * path with the bytes under it, and one per tensor with its dtype and shape (names as saved, in name order:
 * shapes are in the file's layout). `className` names the root.
 */
export function checkpointTree(summary: CheckpointSummary, className: string): string[] {
  const parentOf = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
  const bytesUnder = new Map<string, number>([['', summary.bytes]]);
  const children = new Map<string, string[]>([['', []]]);
  const tensorsIn = new Map<string, CheckpointTensorSummary[]>();
  for (const t of summary.tensors) {
    const parts = t.name.split('.');
    for (let i = 1; i < parts.length; i++) {
      const path = parts.slice(0, i).join('.');
      if (!bytesUnder.has(path)) {
        children.get(parentOf(path))!.push(path);
        children.set(path, []);
      }
      bytesUnder.set(path, (bytesUnder.get(path) ?? 0) + t.bytes);
    }
    const owner = parentOf(t.name);
    tensorsIn.set(owner, [...(tensorsIn.get(owner) ?? []), t]);
  }
  const indent = (path: string) => '  '.repeat(path.split('.').length);
  const tail = (path: string) => path.slice(path.lastIndexOf('.') + 1);
  const lines = [`(root): ${className} ${formatBytes(summary.bytes)}`];
  // Each module path, then the tensors directly in it (file order), then its children: parents first.
  const visit = (path: string): void => {
    if (path !== '') lines.push(`${indent(path)}${tail(path)}: ${formatBytes(bytesUnder.get(path)!)}`);
    for (const t of tensorsIn.get(path) ?? []) lines.push(`${indent(t.name)}${tail(t.name)}: ${t.dtype} [${t.shape.join(', ')}] ${formatBytes(t.bytes)}`);
    for (const child of children.get(path)!) visit(child);
  };
  visit('');
  return lines;
}
