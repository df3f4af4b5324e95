/**
 * What `memhooks inspect <folder>` reads: a savePretrained folder, a pipeline folder (one entry per
 * component) or a bare checkpoint folder. A class this process can build is built on the host; any other
 * folder is described from its safetensors headers and config alone, so that a user's own class, never
 * imported by the CLI, can still be inspected.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { CONFIG_NAME, readConfig, resolveModuleClass } from '../../loading/config.js';
import { describeCheckpoint, findWeightsName, type CheckpointSummary } from '../../io/checkpoints/describeCheckpoint.js';
import { fromPretrained } from '../../loading/fromPretrained.js';
import type { Module } from '../../models/Module.js';
import { MODEL_INDEX_NAME, readModelIndex } from '../../pipelines/folders.js';

export type InspectedComponent =
  | { name: string; kind: 'module'; root: Module }
  | { name: string; kind: 'checkpoint'; className: string; summary: CheckpointSummary; note: string };

/** Every component of the folder, in model_index.json's order for a pipeline; modules are on the host. */
export async function loadFolder(dir: string): Promise<InspectedComponent[]> {
  if (!existsSync(join(dir, MODEL_INDEX_NAME))) return [await loadModelFolder(dir, dir)];
  const { classes } = readModelIndex(dir);
  const out: InspectedComponent[] = [];
  try {
    for (const name of classes.keys()) out.push(await loadModelFolder(join(dir, name), name));
  } catch (error) {
    disposeAll(out);
    throw error;
  }
  return out;
}

export function disposeAll(components: InspectedComponent[]): void {
  for (const c of components) if (c.kind === 'module') c.root.dispose();
}

async function loadModelFolder(dir: string, name: string): Promise<InspectedComponent> {
  const weightsName = findWeightsName(dir);
  const fromCheckpoint = (className: string, note: string): InspectedComponent => ({ name, kind: 'checkpoint', className, summary: describeCheckpoint(dir, weightsName), note });
  if (!existsSync(join(dir, CONFIG_NAME))) {
    return fromCheckpoint('(no config.json)', `${dir} has no ${CONFIG_NAME}, so the model class is unknown`);
  }
  const { _class_name: className } = readConfig(dir);
  try {
    resolveModuleClass(className, undefined);
  } catch (error) {
    if (!(error instanceof MemhooksError) || error.code !== ERROR_CODES.UNKNOWN_MODULE_CLASS) throw error;
    return fromCheckpoint(className, `the class ${className} is not registered in this process; the CLI cannot import it, so for its modules and a device map call inferAutoDeviceMap(model) in your own code`);
  }
  // On the host: inspecting must not need the device, whatever the size.
  return { name, kind: 'module', root: await fromPretrained(undefined, dir, { deviceMap: { '': 'host' }, weightsName }) };
}
