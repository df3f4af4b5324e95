import { decodeInto, type LowPrecisionDtype } from '../../dtypes/index.js';

/**
 * safetensors' low-precision dtypes decoded exactly to float32 with the shared storage codecs (src/dtypes),
 * so that a checkpoint and layerwise casting agree bit for bit. The bytes are little-endian codes; every
 * code has an exact float32, so decoding is lossless.
 */

function codes16(bytes: Uint8Array): Uint16Array {
  // A Uint16Array view needs an even byte offset; copy the rare misaligned span instead of failing.
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 1);
}

function decode(dtype: LowPrecisionDtype, codes: Uint16Array | Uint8Array): Float32Array {
  return decodeInto(dtype, codes, new Float32Array(codes.length));
}

export const decodeFloat16 = (bytes: Uint8Array): Float32Array => decode('float16', codes16(bytes));
export const decodeBFloat16 = (bytes: Uint8Array): Float32Array => decode('bfloat16', codes16(bytes));
export const decodeFloat8E4M3 = (bytes: Uint8Array): Float32Array => decode('float8_e4m3fn', bytes);
export const decodeFloat8E5M2 = (bytes: Uint8Array): Float32Array => decode('float8_e5m2', bytes);
