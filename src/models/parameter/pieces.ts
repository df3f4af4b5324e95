import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { uploadNowFn } from '../../runtime/uploadNow.js';
import { withUploadBuffer } from '../../runtime/uploadBuffer.js';
import { webglTextureUpload } from '../../runtime/webglTextureUpload.js';
import { wasmHeapUpload } from '../../runtime/wasmHeapUpload.js';
import { webgpuBufferUpload } from '../../runtime/webgpuBufferUpload.js';
import type { ComputeDtype } from '../dtypes.js';
import type { DiskRef } from './kinds.js';

/**
 * Uploads a weight from its file a piece at a time, through one buffer of at most `pieceBytes`, so that host memory
 * never holds the whole weight: the disk tier's promise in a browser tab, whose heap is smaller than one group of a
 * big model. On wasm the pieces are read straight into the tensor's memory in the wasm heap; on webgl and webgpu
 * they fill a texture or a GPU buffer of tfjs' that becomes the tensor (runtime/wasmHeapUpload.ts,
 * webglTextureUpload.ts, webgpuBufferUpload.ts). Where those do not apply, each piece becomes a tensor that the
 * backend takes at once (webgl and webgpu are told to upload it now instead of at its first use), so the buffer is
 * free for the next piece, and a weight of more than one piece is joined on the device (tf.concat, an exact copy),
 * which holds the weight twice there for that moment. Pieces are then whole rows (the first axis) where a row fits.
 *
 * Only where the backend takes the bytes at once: `cpu` adopts a typed array as the tensor's storage and tfjs-node
 * reads it at the first kernel, so there a weight is read whole into an array of its own, as before.
 */
const DEFAULT_PIECE_BYTES = 32 * 2 ** 20;
let pieceBytes = DEFAULT_PIECE_BYTES;

/**
 * @internal Sets the piece size (tests run the piecewise path on small weights); returns the function that puts
 * the previous size back.
 */
export function setUploadPieceBytes(bytes: number): () => void {
  if (!Number.isSafeInteger(bytes) || bytes < 8) throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `setUploadPieceBytes: a piece must be a whole number of bytes of at least 8, got ${bytes}.`);
  const previous = pieceBytes;
  pieceBytes = bytes - (bytes % 8);
  return () => void (pieceBytes = previous);
}

/** Whether uploads from disk go a piece at a time on the active backend (else a weight is read whole). */
export function uploadsInPieces(): boolean {
  return uploadNowFn() !== undefined;
}

/** What an upload from disk needs to know of the weight. */
export interface SpanWeight {
  readonly shape: readonly number[];
  readonly dtype: ComputeDtype;
  readonly size: number;
}

/**
 * The weight uploaded from `ref` in pieces, or undefined (nothing read) where the file cannot be read so (no
 * openSpan: the bytes need converting) or the backend keeps the host array as the tensor's storage.
 */
export function uploadFromDisk(ref: DiskRef, weight: SpanWeight): tf.Tensor | undefined {
  const takeNow = uploadNowFn();
  if (takeNow === undefined || ref.openSpan === undefined) return undefined;
  const span = ref.openSpan();
  if (span === undefined) return undefined;
  try {
    if (span.byteLength !== weight.size * 4) {
      throw new MemhooksError(
        ERROR_CODES.OFFLOAD_FILE_CHANGED,
        `The weight file ${ref.path} holds ${span.byteLength} bytes for a weight of shape [${weight.shape.join(', ')}] (${weight.size * 4} bytes of ${weight.dtype}): it is not the file this weight was written to.`,
      );
    }
    const bytes = Math.max(8, Math.min(pieceBytes, span.byteLength));
    const readAt = span.readAt.bind(span);
    const dtype = weight.dtype === 'int32' ? 'int32' : 'float32';
    const shape = [...weight.shape];
    // wasm: straight into the tensor's memory in the wasm heap (runtime/wasmHeapUpload.ts), no buffer needed.
    const inHeap = wasmHeapUpload(weight.size, shape, dtype, readAt, bytes);
    if (inHeap !== undefined) return tf.keep(inHeap);
    return withUploadBuffer(bytes, (buffer) => {
      // webgl and webgpu: straight into a texture or a GPU buffer of tfjs', with no host copy and no join on the
      // device (runtime/webglTextureUpload.ts, runtime/webgpuBufferUpload.ts).
      const direct = webglTextureUpload(weight.size, shape, dtype, readAt, buffer, bytes) ?? webgpuBufferUpload(weight.size, shape, dtype, readAt, buffer, bytes);
      return direct === undefined ? upload(readAt, weight, buffer, takeNow, bytes) : tf.keep(direct);
    });
  } finally {
    span.close();
  }
}

function upload(readAt: (target: Uint8Array, byteOffset: number) => void, weight: SpanWeight, buffer: ArrayBuffer, takeNow: (t: tf.Tensor) => void, bytes: number): tf.Tensor {
  const shape = [...weight.shape];
  const piece = (element: number, count: number, pieceShape: number[]): tf.Tensor => {
    readAt(new Uint8Array(buffer, 0, count * 4), element * 4);
    const values = weight.dtype === 'int32' ? new Int32Array(buffer, 0, count) : new Float32Array(buffer, 0, count);
    const t = tf.tensor(values, pieceShape, weight.dtype);
    takeNow(t);
    return t;
  };
  const perPiece = Math.floor(bytes / 4);
  if (weight.size <= perPiece) return tf.keep(piece(0, weight.size, shape));
  const rowSize = shape.slice(1).reduce((n, d) => n * d, 1);
  const rowsPerPiece = Math.floor(perPiece / rowSize);
  const pieces: tf.Tensor[] = [];
  try {
    if (rowsPerPiece >= 1) {
      for (let row = 0; row < shape[0]!; row += rowsPerPiece) {
        const rows = Math.min(rowsPerPiece, shape[0]! - row);
        pieces.push(piece(row * rowSize, rows * rowSize, [rows, ...shape.slice(1)]));
      }
      return tf.keep(tf.concat(pieces, 0));
    }
    // A single row larger than a piece: flat pieces, joined and given the weight's shape.
    for (let at = 0; at < weight.size; at += perPiece) pieces.push(piece(at, Math.min(perPiece, weight.size - at), [Math.min(perPiece, weight.size - at)]));
    return tf.keep(tf.tidy(() => tf.reshape(tf.concat(pieces, 0), shape)));
  } finally {
    tf.dispose(pieces);
  }
}
