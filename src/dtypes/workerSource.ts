import { createDecoder, decodeBits } from './decode.js';
import { FORMATS } from './formats.js';

/**
 * A JavaScript expression that evaluates to a Decoder (see createDecoder), for code that runs where our
 * modules cannot be imported: a worker started from a source string (`new Worker(source, { eval: true })`,
 * because the module paths differ per build: ESM, CJS, sources under vitest) or, later, a Web Worker built
 * from a Blob. It is not a copy of the decoder: it is the source text of the very functions the main thread
 * runs (Function.prototype.toString; both are closed, so their text is all they need), applied to the
 * formats serialised from FORMATS.
 */
export const DECODER_EXPRESSION = `(${createDecoder.toString()})(${JSON.stringify(FORMATS)}, ${decodeBits.toString()})`;

/**
 * The decoder as self-contained JavaScript statements for such a worker. It defines `decodeInto(dtype,
 * codes, out, start, end)` and `decodeTable(dtype)` with the semantics of the exported ones: codes
 * (Uint16Array / Uint8Array) → float32 values, typically views of SharedArrayBuffers shared with the main
 * thread. test/dtypes/worker.test.ts runs it in a real worker.
 */
export const DECODE_WORKER_SOURCE = `
const { into: decodeInto, table: decodeTable } = ${DECODER_EXPRESSION};
`;
