import { SafetensorsSource } from '../safetensors/SafetensorsSource.js';
import { summarize, type CheckpointSummary, type CheckpointTensorSummary } from './describeCheckpoint.js';
import { openRemoteCheckpoint, remoteCheckpointTensors, type OpenRemoteCheckpointOptions } from './remoteCheckpoint.js';

/**
 * describeCheckpoint for a URL: of a `*.safetensors` file, of a `*.safetensors.index.json`, or of a folder
 * (`<weightsName>`, else its index, as openRemoteCheckpoint looks). Only the index and the headers are requested,
 * one or two ranged requests per file; no tensor data. A server lists no folder, so a folder URL whose checkpoint
 * is not `model.safetensors` needs its `weightsName` (describeCheckpoint finds it on disk). It is asynchronous, as
 * every read of a URL is, and separate from describeCheckpoint so that the local call stays synchronous.
 *
 * @example
 * const summary = await describeRemoteCheckpoint('https://example.com/unet/');
 */
export async function describeRemoteCheckpoint(url: string | URL, options: OpenRemoteCheckpointOptions = {}): Promise<CheckpointSummary> {
  const checkpoint = await openRemoteCheckpoint(url, options);
  const tensors: CheckpointTensorSummary[] = [];
  for await (const { name, info } of remoteCheckpointTensors(checkpoint)) tensors.push({ name, dtype: info.dtype, shape: [...info.shape], bytes: info.byteLength });
  const first = await SafetensorsSource.openUrl(checkpoint.files[0]!, checkpoint.options);
  let layouts: string | undefined;
  try {
    layouts = first.metadata()['layouts'];
  } finally {
    first.close();
  }
  return summarize(checkpoint.url, weightsNameOf(checkpoint.index ?? checkpoint.files[0]!), tensors, layouts);
}

/** The name the checkpoint was saved under: the file's, or the index's without `.index.json`. */
function weightsNameOf(fileUrl: string): string {
  const path = new URL(fileUrl).pathname;
  const raw = path.slice(path.lastIndexOf('/') + 1);
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {
    // A stray '%' in the URL the caller gave: the name as written.
  }
  return name.endsWith('.index.json') ? name.slice(0, -'.index.json'.length) : name;
}
