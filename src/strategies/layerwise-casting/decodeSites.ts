import * as tf from '@tensorflow/tfjs-core';
import { bytesPerCode, decodePacked, decodeTable, type LowPrecisionDtype } from '../../dtypes/index.js';
import type { Parameter } from '../../models/Parameter.js';

/**
 * Host site: decode in JS straight into the Float32Array the tensor is made from. On the cpu backend the
 * packed words are read without a copy (dataSync returns the backend's own array) and tf.tensor adopts the
 * decoded array, so the only work is the decode loop; on wasm both ends are one memcpy into/out of the heap.
 */
export function decodeOnHost(p: Parameter): tf.Tensor {
  return tf.tensor(decodePacked(p.packedCodes()), p.shape as number[], 'float32');
}

/**
 * Device site: decode from the packed int32 tensor with tfjs ops, for backends where uploading a quarter of
 * the bytes and decoding there beats decoding on the host. Exact on every backend: wasm's int32 floorDiv
 * computes in float32 (exact only below 2^24), so the low bits are subtracted first, making every dividend
 * an exact multiple of a power of two with at most 24 significant bits (reference/tfjs-notes.md §5). The
 * codes then index a float32 lookup table of the format's values.
 */
export function decodeOnDevice(p: Parameter): tf.Tensor {
  const dtype = p.storageDtype as LowPrecisionDtype;
  const words = p.packedTensor();
  return tf.tidy(() => {
    const table = decodeTable(dtype);
    const lut = tf.tensor1d(new Float32Array(table.buffer, table.byteOffset, table.length), 'float32');
    const codes = unpackCodes(words, bytesPerCode(dtype));
    const used = codes.size === p.size ? codes : tf.slice(codes, 0, p.size);
    const values = tf.gather(lut, tf.reshape(used, p.shape as number[]));
    // The wasm backend's gather returns a reshaped view of a rank-4 buffer, and its fused kernels read a bias's
    // rank from the buffer: a multiplication by one (exact, keeps −0 and NaN) gives a buffer of the right shape.
    return tf.mul(values, tf.scalar(1, 'float32'));
  });
}

/** int32 words → one int32 code per element, lowest bits first (the host's little-endian packing). */
function unpackCodes(words: tf.Tensor, bytes: 1 | 2): tf.Tensor {
  const bits = bytes * 8;
  const radix = 2 ** bits;
  const parts: tf.Tensor[] = [tf.mod(words, tf.scalar(radix, 'int32'))];
  for (let k = 1; k < 32 / bits; k++) {
    const below = 2 ** (bits * k);
    const low = tf.mod(words, tf.scalar(below, 'int32'));
    const shifted = tf.floorDiv(tf.sub(words, low), tf.scalar(below, 'int32'));
    parts.push(tf.mod(shifted, tf.scalar(radix, 'int32')));
  }
  return tf.reshape(tf.stack(parts, 1), [-1]);
}

/** The decoder for a site. */
export function decoderFor(site: 'host' | 'device'): (p: Parameter) => tf.Tensor {
  return site === 'host' ? decodeOnHost : decodeOnDevice;
}
