/**
 * Host-side axis permutation of a dense row-major array, as tf.transpose(x, perm) but on plain JS memory:
 * checkpoint layouts are converted on the host, where the bytes already are, so no device memory is used.
 */
export function permuteHost(data: Float32Array, shape: readonly number[], perm: readonly number[]): { data: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const out = new Float32Array(data.length);
  if (data.length === 0) return { data: out, shape: outShape };
  if (rank === 2 && perm[0] === 1) {
    transpose2d(data, out, shape[0]!, shape[1]!);
    return { data: out, shape: outShape };
  }
  // Input strides, read in output order: walking the output sequentially, each output axis advances the
  // input offset by the stride of the input axis it came from.
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const stride = perm.map((p) => inStrides[p]!);
  const last = rank - 1;
  const innerSize = outShape[last]!;
  const innerStride = stride[last]!;
  const index = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let o = 0; o < out.length; o += innerSize) {
    for (let j = 0, src = offset; j < innerSize; j++, src += innerStride) out[o + j] = data[src]!;
    // Odometer over the outer axes.
    for (let axis = last - 1; axis >= 0; axis--) {
      index[axis]!++;
      offset += stride[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      offset -= stride[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** [rows, cols] → [cols, rows] in square tiles, so both reads and writes stay in cache for large matrices. */
function transpose2d(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(r0 + T, rows);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(c0 + T, cols);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c]!;
      }
    }
  }
}
