import { dequantizeInto, type ShippedDtype } from '../../dtypes/index.js';
import type { HostArray } from '../dtypes.js';

export type { ShippedDtype };

/**
 * A float32 weight's host bytes in the form a converter manifest shipped them (tf.io's `quantization`): uint8 or
 * uint16 codes with the affine `min` and `scale`, or float16 codes. They hold a quarter or a half of the float32
 * bytes; the device always gets the float32 values, decoded exactly as tfjs decodes them at load
 * (dequantizeInto), so the values are bitwise the loaded model's.
 *
 * A host encoding of the parameter's host bytes, not a storage dtype: the parameter stays float32
 * (storageDtype, byteLength and the device tensor are float32), only what the host holds is smaller. Immutable:
 * new values (assign) replace it with float32 bytes.
 */
export class ShippedCodes {
  constructor(
    readonly dtype: ShippedDtype,
    readonly codes: Uint8Array | Uint16Array,
    /** The affine parameters of uint8 / uint16 codes (value = code · scale + min); unused for float16. */
    readonly min: number,
    readonly scale: number,
  ) {}

  /** How many values the codes hold. */
  get length(): number {
    return this.codes.length;
  }

  /** The host bytes they take: what the ledger counts. */
  get byteLength(): number {
    return this.codes.byteLength;
  }

  /** The float32 values, in a fresh array (or in `out`). */
  decode(out = new Float32Array(this.codes.length)): Float32Array {
    return dequantizeInto(this.dtype, this.codes, out, this.min, this.scale);
  }
}

/** What a host kind holds: values (float32 / int32, or a cast weight's packed words), or shipped codes. */
export type HostBytes = HostArray | ShippedCodes;

/** The values of host bytes: shipped codes decoded into a fresh float32 array, other bytes as they are. */
export function valuesOf(bytes: HostBytes): HostArray {
  return bytes instanceof ShippedCodes ? bytes.decode() : bytes;
}

/**
 * The index of the first value whose float32 bits differ from `values` (NaNs compared by their bits too), or -1
 * when the codes decode to exactly `values`. wrapGraphModel checks each weight with it before adopting codes.
 */
export function firstMismatch(codes: ShippedCodes, values: Float32Array): number {
  if (values.length !== codes.length) return 0;
  const decoded = new Uint32Array(codes.decode().buffer);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) if (decoded[i] !== bits[i]) return i;
  return -1;
}
