/**
 * What `memhooks inspect <url>` reads: the URL of a safetensors file, of a checkpoint index, of a savePretrained
 * folder or of a pipeline folder (one entry per component), served over HTTP. Only model_index.json, config.json,
 * the index and the safetensors headers are requested: inspect never downloads the weights of a URL, so every
 * component is described from its headers and the class its config.json names.
 */
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { describeRemoteCheckpoint } from '../../io/checkpoints/describeRemoteCheckpoint.js';
import { RangeReadError } from '../../io/safetensors/byteRanges.js';
import { readConfigUrl } from '../../loading/config.js';
import { readPipelineIndex } from '../../pipelines/folders.js';
import { componentUrl, pipelineFolderUrl } from '../../pipelines/remoteFolders.js';
import type { InspectedComponent } from './inspectFolder.js';

/** Whether `memhooks inspect` was given a URL rather than a zoo size, a real model or a folder. */
export function isInspectUrl(model: string): boolean {
  return /^https?:\/\//i.test(model);
}

/** Every component the URL holds, each described from its headers. */
export async function loadUrl(url: string): Promise<InspectedComponent[]> {
  const path = new URL(url).pathname;
  if (path.endsWith('.safetensors') || path.endsWith('.index.json')) {
    return [await describeUrl(url, path.slice(path.lastIndexOf('/') + 1), undefined)];
  }
  const folder = pipelineFolderUrl(url);
  let classes: Map<string, string>;
  try {
    ({ classes } = await readPipelineIndex(folder, {}));
  } catch (error) {
    // No model_index.json: a single model's folder.
    if (!(error instanceof MemhooksError && error.cause instanceof RangeReadError && error.cause.status === 404)) throw error;
    return [await describeUrl(folder, folder, await classNameAt(folder))];
  }
  const out: InspectedComponent[] = [];
  for (const [name, className] of classes) out.push(await describeUrl(componentUrl(folder, name), name, className));
  return out;
}

/** The class config.json names; undefined when the folder has none (404). */
async function classNameAt(folder: string): Promise<string | undefined> {
  try {
    return (await readConfigUrl(folder, {}))._class_name;
  } catch (error) {
    if (error instanceof RangeReadError && error.status === 404) return undefined;
    throw error;
  }
}

async function describeUrl(url: string, name: string, className: string | undefined): Promise<InspectedComponent> {
  try {
    const summary = await describeRemoteCheckpoint(url);
    const note = `${url} is read over HTTP, and inspect does not download weights; for its modules and a device map, load it in your own code with fromPretrained(url)`;
    return { name, kind: 'checkpoint', className: className ?? '(no config.json)', summary, note };
  } catch (cause) {
    throw new MemhooksError(cause instanceof MemhooksError ? cause.code : ERROR_CODES.INVALID_ARGUMENT, `memhooks inspect could not read the checkpoint of "${name}" at ${url}.`, { cause });
  }
}
