import { existsSync, mkdirSync, readFileSync, statSync } from '../base/platform/fs.js';
import { join } from '../base/platform/path.js';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { CONFIG_NAME, configOf, readConfig, resolveModuleClass } from '../loading/config.js';
import { deviceMapHandleOf, fromPretrained, type FromPretrainedOptions } from '../loading/fromPretrained.js';
import type { MaxMemory } from '../models/deviceTypes.js';
import { savePretrained, type SavePretrainedOptions } from '../loading/savePretrained.js';
import { parseStrictJson } from '../io/safetensors/strictJson.js';
import type { UrlReadOptions } from '../io/safetensors/httpRanges.js';
import { isUrlFolder } from '../loading/weightSources.js';
import type { Module } from '../models/Module.js';
import { describeValue } from '../models/paths.js';
import type { Components } from './components.js';
import { checkComponentUrl, componentUrl, fetchModelIndex, pipelineFolderUrl, transportCode } from './remoteFolders.js';

export const MODEL_INDEX_NAME = 'model_index.json';

/**
 * model_index.json, as diffusers writes it: the pipeline class, and per component the library and class
 * that build it (here always "memhooks" and the component's @module class name).
 */
export interface ModelIndex {
  _class_name: string;
  _memhooks_format: 1;
  [component: string]: string | number | [string, string];
}

/**
 * With a folder URL, also how it is read (allowFullDownload, headers, fetch: UrlReadOptions): model_index.json,
 * every config.json and every component's weights; a component's own componentOptions take precedence.
 */
export interface PipelineFromPretrainedOptions extends UrlReadOptions {
  /** Components to use as given instead of loading their folders (diffusers' `unet=unet` arguments). */
  components?: Record<string, Module>;
  /** Options for each loaded component's fromPretrained (deviceMap, maxMemory, offloadFolder, weightsName). */
  componentOptions?: Record<string, FromPretrainedOptions>;
  /** Pipeline-level placement of whole components: 'balanced' (needs maxMemory) or a backend name. */
  deviceMap?: 'balanced' | string;
  /** Budgets for deviceMap 'balanced': backend names and 'host', e.g. { wasm: '2GB', cpu: '4GB', host: '16GB' }. */
  maxMemory?: MaxMemory;
}

/**
 * Writes one sub-folder per component (Module.savePretrained's layout) and model_index.json last, so a
 * folder with an index is complete. Every component's config is checked before anything is written.
 */
export function savePipelineFolder(className: string, components: Components, dir: string, options: SavePretrainedOptions = {}): ModelIndex {
  if (typeof dir !== 'string' || dir === '') throw new InvalidArgumentError(`savePretrained(dir) needs a folder path, got ${describeValue(dir)}.`);
  const index: ModelIndex = { _class_name: className, _memhooks_format: 1 };
  for (const [name, m] of Object.entries(components)) {
    try {
      index[name] = ['memhooks', configOf(m)._class_name];
    } catch (cause) {
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Pipeline component "${name}" cannot be saved; nothing was written.`, { cause });
    }
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, m] of Object.entries(components)) savePretrained(m, join(dir, name), options);
  writeFileAtomicSync(join(dir, MODEL_INDEX_NAME), JSON.stringify(index, null, 2) + '\n');
  return index;
}

/** The pipeline class name and the component → class names that model_index.json gives. */
export interface PipelineIndex {
  className: string;
  classes: Map<string, string>;
}

/** Reads and checks model_index.json; returns the pipeline class name and the component → class names. */
export function readModelIndex(dir: string): PipelineIndex {
  const path = join(dir, MODEL_INDEX_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Could not read ${path}: a pipeline folder needs the model_index.json that pipeline.savePretrained(dir) writes.`, { cause });
  }
  return parseModelIndex(text, path, 'a pipeline folder');
}

/** readModelIndex for a folder or a folder URL (one GET): what fromPretrained reads first. */
export async function readPipelineIndex(dir: string | URL, options: UrlReadOptions): Promise<PipelineIndex> {
  if (!isUrlFolder(dir)) return readModelIndex(dir as string);
  const { url, text } = await fetchModelIndex(pipelineFolderUrl(dir), MODEL_INDEX_NAME, options);
  return parseModelIndex(text, url, 'a pipeline folder URL');
}

/** model_index.json's text, strictly (no duplicate keys) and of the right shape; `path` (a file or a URL) names it. */
function parseModelIndex(text: string, path: string, what: string): PipelineIndex {
  let index: Record<string, unknown>;
  try {
    parseStrictJson(text);
    index = JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `Could not read ${path}: ${what} needs the model_index.json that pipeline.savePretrained(dir) writes.`, { cause });
  }
  if (typeof index?._class_name !== 'string') {
    throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${path} has no "_class_name" string; it was not written by pipeline.savePretrained.`);
  }
  const classes = new Map<string, string>();
  for (const [key, value] of Object.entries(index)) {
    if (key.startsWith('_')) continue;
    if (!Array.isArray(value) || value.length !== 2 || typeof value[1] !== 'string') {
      throw new MemhooksError(ERROR_CODES.INVALID_ARGUMENT, `${path}: component "${key}" must be ["<library>", "<class name>"], got ${JSON.stringify(value)}.`);
    }
    classes.set(key, value[1]);
  }
  return { className: index._class_name, classes };
}

/**
 * Loads every component of a pipeline folder (or folder URL) that `given` does not supply, from the index
 * readPipelineIndex read. Everything that can be checked without loading (component names, folders, classes)
 * is checked first; a load that fails disposes the components loaded before it, so nothing half-loaded stays
 * allocated.
 */
export async function loadPipelineComponents(
  dir: string | URL,
  { classes }: PipelineIndex,
  options: PipelineFromPretrainedOptions,
): Promise<{ components: Components; loaded: Components }> {
  const remote = isUrlFolder(dir) ? pipelineFolderUrl(dir) : undefined;
  const { allowFullDownload, headers, fetch } = options;
  const reading: UrlReadOptions = { allowFullDownload, headers, fetch };
  const given = options.components ?? {};
  const perComponent = options.componentOptions ?? {};
  for (const name of [...Object.keys(given), ...Object.keys(perComponent)]) {
    if (!classes.has(name)) {
      throw new InvalidArgumentError(`fromPretrained: "${name}" is no component of the pipeline saved in ${dir}. Its components: ${[...classes.keys()].join(', ')}.`);
    }
  }
  const toLoad = [...classes].filter(([name]) => given[name] === undefined);
  for (const [name, className] of toLoad) {
    if (remote !== undefined) {
      await checkComponentUrl(remote, name, className, reading);
      continue;
    }
    const folder = join(dir as string, name);
    if (!existsSync(folder) || !statSync(folder).isDirectory() || !existsSync(join(folder, CONFIG_NAME))) {
      throw new MemhooksError(ERROR_CODES.CHECKPOINT_MISMATCH, `Pipeline component "${name}" has no folder ${folder} with a ${CONFIG_NAME}. Save the pipeline again, or pass the component yourself: fromPretrained(dir, { components: { ${name}: model } }).`);
    }
    try {
      const saved = readConfig(folder)._class_name;
      if (saved !== className) throw new Error(`model_index.json names "${className}" but ${join(folder, CONFIG_NAME)} names "${saved}"`);
      resolveModuleClass(className, undefined);
    } catch (cause) {
      throw new MemhooksError(ERROR_CODES.UNKNOWN_MODULE_CLASS, `Pipeline component "${name}" cannot be built; nothing was loaded.`, { cause });
    }
  }
  const placing = options.deviceMap !== undefined;
  if (placing) {
    const mapped = Object.keys(perComponent).filter((n) => perComponent[n]?.deviceMap !== undefined);
    if (mapped.length > 0) {
      throw new InvalidArgumentError(`fromPretrained: a pipeline-level deviceMap places whole components, so componentOptions cannot also give ${mapped.map((n) => `"${n}"`).join(', ')} a deviceMap. Use one or the other.`);
    }
  }
  const where = (name: string) => (remote === undefined ? join(dir as string, name) : componentUrl(remote, name));
  const loaded: Components = {};
  try {
    for (const [name] of toLoad) {
      try {
        // With a pipeline-level placement each component is loaded onto the host first (never onto a device
        // it will not run on), then placed whole.
        const own = remote === undefined ? perComponent[name] : { ...reading, ...perComponent[name] };
        const opts = placing ? { ...own, deviceMap: { '': 'host' } } : own;
        loaded[name] = await fromPretrained<Module>(undefined, where(name), opts);
        if (placing) deviceMapHandleOf(loaded[name]!)?.remove();
      } catch (cause) {
        // From a URL, a server that fails (or ignores Range) keeps its code: the fix is on the server's side.
        const code = remote === undefined ? ERROR_CODES.CHECKPOINT_MISMATCH : transportCode(cause, ERROR_CODES.CHECKPOINT_MISMATCH);
        throw new MemhooksError(code, `Loading pipeline component "${name}" from ${where(name)} failed; the components loaded before it were released.`, { cause });
      }
    }
  } catch (error) {
    for (const m of Object.values(loaded)) m.dispose();
    throw error;
  }
  // The index's order, whether a component was loaded or given.
  return { components: Object.fromEntries([...classes.keys()].map((name) => [name, given[name] ?? loaded[name]!])), loaded };
}
