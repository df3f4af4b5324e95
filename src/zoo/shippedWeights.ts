import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import type { PretrainedName } from './catalog.js';
import { readModelJson } from './artifacts.js';
import { fetchPretrained, pretrainedSpec, type PretrainedOptions } from './fetchPretrained.js';

/** How a weight is stored in the shipped shards, when that differs from its dtype (tf.io's `quantization`). */
export interface ShippedQuantization {
  /** The stored dtype: uint8 / uint16 (affine, `value = min + scale * code`) or float16. */
  readonly dtype: 'uint8' | 'uint16' | 'float16';
  readonly min?: number;
  readonly scale?: number;
}

/** One weight of a pre-trained model's weights manifest, as shipped and as tfjs holds it once loaded. */
export interface ShippedWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype tfjs gives the loaded tensor (the manifest's `dtype`). */
  readonly dtype: 'float32' | 'int32' | 'bool';
  /** Present when the shards store the weight in a smaller form that tfjs decodes at load. */
  readonly quantization?: ShippedQuantization;
  /** Where the weight starts in the model's shards concatenated in manifest order. */
  readonly byteOffset: number;
  /** Its bytes in the shards. */
  readonly shippedBytes: number;
  /** Its bytes once loaded (float32 and int32: 4 per value, bool: 1). */
  readonly loadedBytes: number;
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/**
 * The weights manifest of a pre-trained model (fetched into the cache first when needed): each weight's dtype,
 * shape, shipped quantization and place in the shards. Converter manifests often store weights as uint8, uint16
 * or float16 that tfjs dequantizes to float32 at load; this tells what a host copy kept in the shipped form
 * would weigh. Reads the files as data; loads no model and needs no optional peer.
 *
 * @example
 * const specs = await pretrainedWeightSpecs('mobilenet-v2-mid-nsfw');
 * const shipped = specs.reduce((n, w) => n + w.shippedBytes, 0); // vs w.loadedBytes
 */
export async function pretrainedWeightSpecs(name: PretrainedName, options: PretrainedOptions = {}): Promise<ShippedWeightSpec[]> {
  const spec = pretrainedSpec(name);
  const json = readModelJson(await fetchPretrained(name, options), spec);
  const out: ShippedWeightSpec[] = [];
  let byteOffset = 0;
  for (const group of json.weightsManifest) {
    for (const w of group.weights) {
      const q = w.quantization;
      const stored = q?.dtype ?? w.dtype;
      const loaded = BYTES_PER_VALUE[w.dtype];
      const shipped = BYTES_PER_VALUE[stored];
      // Strings and complex weights have no fixed size per value; no catalog model ships them.
      if (loaded === undefined || shipped === undefined || (stored === 'bool') !== (w.dtype === 'bool')) {
        throw new MemhooksError(
          ERROR_CODES.UNSUPPORTED_MODEL,
          `Weight ${w.name} of "${name}" (${spec.package}@${spec.version}, ${spec.modelFile}) is stored as ${stored} for dtype ${w.dtype}; ` +
            'memhooks reads manifests of float32, int32 and bool weights (optionally uint8, uint16 or float16 quantized) only.',
        );
      }
      const size = w.shape.reduce((n, d) => n * d, 1);
      out.push({
        name: w.name,
        shape: [...w.shape],
        dtype: w.dtype as ShippedWeightSpec['dtype'],
        ...(q === undefined ? {} : { quantization: { dtype: q.dtype as ShippedQuantization['dtype'], ...(q.min === undefined ? {} : { min: q.min }), ...(q.scale === undefined ? {} : { scale: q.scale }) } }),
        byteOffset,
        shippedBytes: size * shipped,
        loadedBytes: size * loaded,
      });
      byteOffset += size * shipped;
    }
  }
  return out;
}
