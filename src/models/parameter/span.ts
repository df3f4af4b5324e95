import type { SafetensorsFile } from '../../io/safetensors/SafetensorsFile.js';
import type { DiskSpan } from './kinds.js';

/**
 * The raw bytes of tensor `name` of an open safetensors file as a DiskSpan, which owns the file (its close()
 * closes it); undefined, the file closed, when the tensor is not F32 or I32 (its bytes need decoding).
 */
export function safetensorsSpan(file: SafetensorsFile, name: string): DiskSpan | undefined {
  try {
    const info = file.info(name);
    if (info.dtype === 'F32' || info.dtype === 'I32') {
      return { byteLength: info.byteLength, readAt: (target, byteOffset) => file.readRange(name, target, byteOffset), close: () => file.close() };
    }
  } catch (error) {
    file.close();
    throw error;
  }
  file.close();
  return undefined;
}
