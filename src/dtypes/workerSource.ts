import { decodeBits } from './decode.js';
import { FORMATS } from './formats.js';

/**
 * The decoder as self-contained JavaScript source, for a worker started with `new Worker(source, { eval: true })`
 * (the transfer worker is such a string: it cannot import our modules, whose paths differ per build). It
 * defines `decodeInto(dtype, codes, out, start, end)` with the same semantics as the exported one: codes
 * (Uint16Array / Uint8Array) → float32 values, typically views of SharedArrayBuffers shared with the main
 * thread. The per-code decoder is this module's own decodeBits (its source is embedded, so the two
 * cannot drift apart); test/dtypes/worker.test.ts runs it in a real worker.
 */
export const DECODE_WORKER_SOURCE = String.raw`
const decodeBits = ${decodeBits.toString()};
const FORMATS = ${JSON.stringify(FORMATS)};
const decodeTables = new Map();
function decodeTable(dtype) {
  let table = decodeTables.get(dtype);
  if (table === undefined) {
    const f = FORMATS[dtype];
    if (f === undefined) throw new Error('unknown storage dtype ' + dtype);
    table = new Uint32Array(1 << f.bits);
    for (let c = 0; c < table.length; c++) table[c] = decodeBits(c, f);
    decodeTables.set(dtype, table);
  }
  return table;
}
function decodeInto(dtype, codes, out, start = 0, end = codes.length) {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  if (dtype === 'bfloat16') {
    for (let i = start; i < end; i++) bits[i] = codes[i] << 16;
    return out;
  }
  const table = decodeTable(dtype);
  for (let i = start; i < end; i++) bits[i] = table[codes[i]];
  return out;
}
`;
