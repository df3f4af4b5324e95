import { createHash } from '../../base/platform/system.js';
import { mkdirSync, rmSync } from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import { allocatePacked, type LowPrecisionDtype } from '../../dtypes/index.js';
import type { HostArray } from '../../models/dtypes.js';
import type { DiskRef, Parameter } from '../../models/Parameter.js';
import { decodeValues, SafetensorsFile } from '../../io/safetensors/SafetensorsFile.js';
import { safetensorsSpan } from '../../models/parameter/span.js';
import { saveSafetensorsSync, type SafetensorsEntry } from '../../io/safetensors/write.js';
import { codesTensorOf } from '../shared/groupFiles.js';

/**
 * A reference to one float32/int32 tensor of a safetensors file, read back on demand (into a fresh array
 * the parameter adopts). `convert` turns the file's values into the parameter's layout (a PyTorch layout
 * when the file is a checkpoint). The file must stay as it is while the parameter lives on disk.
 */
export function safetensorsRef(path: string, name: string, convert?: (values: HostArray, shape: number[]) => HostArray): DiskRef {
  return {
    path,
    read(): HostArray {
      const file = SafetensorsFile.open(path);
      try {
        const info = file.info(name);
        const values = decodeValues(info, file.readBytes(name), name, path);
        return convert === undefined ? values : convert(values, info.shape);
      } finally {
        file.close();
      }
    },
    // Values in the parameter's own layout are read a piece at a time by uploads (models/parameter/pieces.ts).
    ...(convert === undefined ? { openSpan: () => safetensorsSpan(SafetensorsFile.open(path), name) } : {}),
  };
}

/**
 * Writes the disk-mapped weights of one module to `<offloadFolder>/device-map-<hash of the module path>.safetensors`
 * (names made by the SDK, never taken from tensor names: reliability.md B2) and returns a reference per
 * weight. The current values are read from the weight's tier (device or host).
 */
export function writeOffloadFile(folder: string, modulePath: string, params: Array<[string, Parameter]>): { path: string; refs: Map<Parameter, DiskRef> } {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `device-map-${createHash('sha256').update(modulePath).digest('hex').slice(0, 16)}.safetensors`);
  const entries: Record<string, SafetensorsEntry> = Object.create(null);
  for (const [key, p] of params) {
    if (p.isLowPrecision) {
      // A cast weight (layerwise casting) is written as its codes, under safetensors' own dtype (F16, BF16, F8_*).
      const { tensor, data } = codesTensorOf(p, key);
      entries[key] = { dtype: tensor.dtype, shape: tensor.shape, data };
      continue;
    }
    const values = (p.isResident ? p.read().dataSync() : p.hostData()) as HostArray;
    entries[key] = { dtype: values instanceof Int32Array ? 'I32' : 'F32', shape: [...p.shape], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
  }
  saveSafetensorsSync(path, entries, { format: 'memhooks-offload', module: modulePath });
  const ref = (key: string, p: Parameter): DiskRef => (p.isLowPrecision ? codesRef(path, key, p.storageDtype as LowPrecisionDtype, p.size) : safetensorsRef(path, key));
  return { path, refs: new Map(params.map(([key, p]) => [p, ref(key, p)])) };
}

/** A reference to one tensor of codes, read back as the packed int32 words a cast Parameter stores. */
function codesRef(path: string, name: string, dtype: LowPrecisionDtype, size: number): DiskRef {
  return {
    path,
    read(): HostArray {
      const file = SafetensorsFile.open(path);
      try {
        const bytes = file.readBytes(name);
        const packed = allocatePacked(dtype, size);
        new Uint8Array(packed.codes.buffer, packed.codes.byteOffset, packed.codes.byteLength).set(bytes);
        return packed.words;
      } finally {
        file.close();
      }
    },
  };
}

export function removeOffloadFiles(paths: Iterable<string>): void {
  for (const p of paths) rmSync(p, { force: true });
}
