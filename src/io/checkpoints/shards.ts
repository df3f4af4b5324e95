import { InvalidArgumentError } from '../../base/errors.js';
import { isPlainFileName } from '../safePaths.js';

/** Default file name of a model's weights, as transformers and diffusers use for safetensors. */
export const DEFAULT_WEIGHTS_NAME = 'model.safetensors';

/** `model.safetensors` → `{ stem: 'model', ext: '.safetensors' }`; the name must be a plain *.safetensors file name. */
export function splitWeightsName(weightsName: string): { stem: string; ext: string } {
  if (typeof weightsName !== 'string' || !isPlainFileName(weightsName) || !/^.+\.safetensors$/.test(weightsName)) {
    throw new InvalidArgumentError(
      `weightsName ${JSON.stringify(weightsName)} must be a plain file name ending in .safetensors (no folders), e.g. "${DEFAULT_WEIGHTS_NAME}".`,
    );
  }
  return { stem: weightsName.slice(0, -'.safetensors'.length), ext: '.safetensors' };
}

/** `<stem>-00001-of-00003.safetensors`, the Hugging Face shard naming (five digits each side). */
export function shardFileName(weightsName: string, index: number, count: number): string {
  const { stem, ext } = splitWeightsName(weightsName);
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${stem}-${pad(index + 1)}-of-${pad(count)}${ext}`;
}

export function indexFileName(weightsName: string): string {
  return `${weightsName}.index.json`;
}

/** Whether `name` is a shard of `weightsName` (any count): used to remove shards a previous save left. */
export function isShardOf(name: string, weightsName: string): boolean {
  const { stem } = splitWeightsName(weightsName);
  return name.startsWith(`${stem}-`) && /^-\d{5}-of-\d{5}\.safetensors$/.test(name.slice(stem.length));
}

/**
 * Splits tensors into shards of at most `maxBytes` in their given order, as huggingface_hub's
 * split_state_dict_into_shards does: a tensor that does not fit in the current shard starts the next
 * one, and a tensor bigger than `maxBytes` gets a shard of its own.
 */
export function planShards<T extends { byteLength: number }>(tensors: T[], maxBytes: number): T[][] {
  const shards: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const t of tensors) {
    if (current.length > 0 && size + t.byteLength > maxBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.byteLength;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}
