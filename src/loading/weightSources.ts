import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import type { HostArray } from '../models/dtypes.js';
import type { DiskRef, Parameter } from '../models/Parameter.js';
import { safetensorsRef, writeOffloadFile } from '../strategies/device-map/disk.js';
import { checkpointTensors, openCheckpoint } from '../io/checkpoints/openCheckpoint.js';
import { openRemoteCheckpoint, remoteCheckpointTensors } from '../io/checkpoints/remoteCheckpoint.js';
import type { TensorInfo } from '../io/safetensors/header.js';
import type { UrlReadOptions } from '../io/safetensors/httpRanges.js';
import { SafetensorsFile } from '../io/safetensors/SafetensorsFile.js';
import { SafetensorsSource } from '../io/safetensors/SafetensorsSource.js';

/** One checkpoint tensor as fromPretrained takes it: its bytes on demand, and where a 'disk' weight lives. */
export interface WeightTensor {
  name: string;
  info: TensorInfo;
  /** The file or URL holding it, for messages. */
  location: string;
  readBytes(): Promise<Uint8Array>;
  /**
   * The disk-tier reference of the loaded weight. `convert` turns file values into the parameter's layout
   * (for a reference that re-reads the checkpoint itself).
   */
  diskRef(param: Parameter, convert: ((values: HostArray, shape: number[]) => HostArray) | undefined): DiskRef;
}

/** A checkpoint folder or URL, its names known (headers and index read), no tensor read yet. */
export interface WeightSource {
  weightMap: Map<string, string>;
  /** The first file's `__metadata__` (savePretrained records its layouts there). */
  metadata(): Promise<Record<string, string>>;
  tensors(): AsyncGenerator<WeightTensor>;
}

/**
 * A local folder: tensors are read by pread, and a 'disk' weight stays in the checkpoint file (its reference
 * re-reads the span and converts the layout whenever the weight is onloaded).
 */
export function localWeights(dir: string, weightsName: string | undefined): WeightSource {
  const checkpoint = openCheckpoint(dir, { weightsName });
  return {
    weightMap: checkpoint.weightMap,
    async metadata() {
      const file = SafetensorsFile.open(checkpoint.files[0]!);
      try {
        return file.metadata();
      } finally {
        file.close();
      }
    },
    async *tensors() {
      for (const { name, info, file } of checkpointTensors(checkpoint)) {
        yield {
          name,
          info,
          location: file.path,
          readBytes: async () => file.readBytes(name),
          diskRef: (_param, convert) => safetensorsRef(file.path, name, convert),
        };
      }
    },
  };
}

/**
 * A folder URL: each tensor is one ranged request. A server cannot be re-read synchronously when a module runs,
 * so a 'disk' weight is written, as it arrives and in the device layout, to its own file in `offloadFolder` (the
 * disk tier's writer: OPFS in a page), named from the shard URL and the tensor name, never from the name alone.
 */
export async function remoteWeights(url: string, options: UrlReadOptions & { weightsName?: string; offloadFolder?: string }): Promise<WeightSource> {
  const { offloadFolder, ...open } = options;
  const checkpoint = await openRemoteCheckpoint(url, open);
  return {
    weightMap: checkpoint.weightMap,
    async metadata() {
      const source = await SafetensorsSource.openUrl(checkpoint.files[0]!, checkpoint.options);
      try {
        return source.metadata();
      } finally {
        source.close();
      }
    },
    async *tensors() {
      for await (const { name, info, source } of remoteCheckpointTensors(checkpoint)) {
        yield {
          name,
          info,
          location: source.location,
          readBytes: () => source.readBytes(name),
          diskRef: (param) => {
            if (offloadFolder === undefined) {
              throw new MemhooksError(ERROR_CODES.INVALID_DEVICE_MAP, `Weight ${JSON.stringify(name)} of ${source.location} is mapped to 'disk': pass offloadFolder, where it is written.`);
            }
            return writeOffloadFile(offloadFolder, `${source.location}#${name}`, [[name, param]]).refs.get(param)!;
          },
        };
      }
    },
  };
}

/** Whether fromPretrained's folder is a URL (http(s)://, or a URL object) rather than a local path. */
export function isUrlFolder(dir: string | URL): boolean {
  return dir instanceof URL || /^https?:\/\//i.test(dir);
}
