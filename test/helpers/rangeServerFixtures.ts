// The files the browser suite's range server serves (rangeServerSetup.ts), as raw safetensors entries computed the same
// way in Node (which writes them) and in the page (which checks what it read against them). No Node module here.

const bytesOf = (a: Float32Array | Int32Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 100 + i) * 3);

/** One file of several dtypes (F32, I32, F16) for the reader. */
export function pageTensors() {
  return {
    'proj.weight': { dtype: 'F32' as const, shape: [6, 4], data: bytesOf(values(24, 1)) },
    steps: { dtype: 'I32' as const, shape: [3], data: bytesOf(Int32Array.from([7, -1, 123456])) },
    half: { dtype: 'F16' as const, shape: [4], data: bytesOf(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001])) },
  };
}

/** The weights of UrlPageNet (test/browser/url.test.ts) in PyTorch's layout (Linear [out, in]). */
export function pageNetWeights() {
  return {
    'lin.weight': { dtype: 'F32' as const, shape: [6, 4], data: bytesOf(values(24, 2)) },
    'lin.bias': { dtype: 'F32' as const, shape: [6], data: bytesOf(values(6, 3)) },
    'head.weight': { dtype: 'F32' as const, shape: [3, 6], data: bytesOf(values(18, 4)) },
    'head.bias': { dtype: 'F32' as const, shape: [3], data: bytesOf(values(3, 5)) },
  };
}

export const pageNetConfig = { _class_name: 'UrlPageNet', _memhooks_format: 1, args: [] };
