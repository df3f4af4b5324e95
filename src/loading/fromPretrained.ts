import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { withPlaceholderInit } from '../models/initContext.js';
import type { Module } from '../models/Module.js';
import { Parameter } from '../models/Parameter.js';
import { withBackend } from '../strategies/device-map/backends.js';
import { dispatchModel } from '../strategies/device-map/DeviceMapStrategy.js';
import { getBalancedMemory } from '../strategies/device-map/balanced.js';
import { isComputeDevice } from '../strategies/device-map/devices.js';
import { inferAutoDeviceMap } from '../strategies/device-map/infer.js';
import { setMapInForce } from '../models/keys/mapInForce.js';
import { entryFor, validateDeviceMap } from '../strategies/device-map/placement.js';
import type { Device, DeviceMap } from '../models/deviceTypes.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { decodeValues } from '../io/safetensors/SafetensorsFile.js';
import { httpUrl } from '../io/safetensors/httpRanges.js';
import { readConfig, readConfigUrl, resolveModuleClass } from './config.js';
import { ownedParameters, type OwnedParameter } from './modelWeights.js';
import { isUrlFolder, localWeights, remoteWeights, type WeightSource } from './weightSources.js';

const handles = new WeakMap<Module, StrategyHandle>();

/** The device-map handle fromPretrained attached to `model` (undefined when everything is on the device). */
export function deviceMapHandleOf(model: Module): StrategyHandle | undefined {
  return handles.get(model);
}

import { fillFromPretrained, type FromPretrainedOptions } from '../models/pretrainedSlot.js';

export type { FromPretrainedOptions };

/**
 * Builds the model that `dir/config.json` names, from the @module registry, and loads its weights straight
 * into the tiers the device map gives them: the module is built with its weights on the host (never on the
 * device), then each checkpoint tensor is read from its file span, converted from PyTorch's layout when the
 * file has it, and uploaded only if its tier is a compute device. A missing, unexpected or mismatched weight
 * is an error naming the keys, raised before any weight is uploaded when the headers already show it.
 * `dir` may be a folder URL: config.json and the index are fetched, and each tensor is one ranged request
 * (docs/checkpoints.md, "Reading from a URL").
 */
export async function fromPretrained<M extends Module>(expected: Function | undefined, dir: string | URL, options: FromPretrainedOptions = {}): Promise<M> {
  const { weightsName, allowFullDownload, headers, fetch } = options;
  const remote = isUrlFolder(dir) ? folderUrl(dir) : undefined;
  const config = remote === undefined ? readConfig(dir as string) : await readConfigUrl(remote, { allowFullDownload, headers, fetch });
  const cls = resolveModuleClass(config._class_name, expected);
  const checkpoint =
    remote === undefined ? localWeights(dir as string, weightsName) : await remoteWeights(remote, { weightsName, allowFullDownload, headers, fetch, offloadFolder: options.offloadFolder });
  let model: Module;
  try {
    // Placeholder weights: never on the device, and not kept on the host either (each is drawn and dropped), so
    // that loading never holds a second copy of the model: peak host memory is the largest weight, not the model.
    model = withPlaceholderInit(() => new cls(...config.args));
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.CHECKPOINT_MISMATCH, `Could not build ${config._class_name} from ${dir}/config.json with its saved arguments.`, { cause });
  }
  try {
    const torchLayouts = (await checkpoint.metadata())['layouts'] !== 'memhooks';
    const owned = ownedParameters(model, { torchLayouts });
    checkNames(owned, checkpoint, String(dir));
    const map = resolveDeviceMap(model, options);
    await loadInto(model, owned, checkpoint, map);
    if (map !== undefined && needsDispatch(map)) handles.set(model, dispatchModel(model, map, { offloadFolder: options.offloadFolder }));
    // Everything on the device needs no hooks (and leaves the model free for any strategy), but it is still
    // the map the model was placed with, which hfDeviceMap reports as transformers does.
    else if (map !== undefined) setMapInForce(model, map);
    return model as M;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** A folder URL with its trailing slash, so that config.json and the weights resolve inside it. */
function folderUrl(dir: string | URL): string {
  const href = httpUrl(dir);
  const url = new URL(href);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

// Files saved by savePretrained say which layouts they hold (metadata "layouts"); any other file is PyTorch's.

function checkNames(owned: OwnedParameter[], checkpoint: WeightSource, dir: string): void {
  const expected = new Set(owned.map((p) => p.name));
  const missing = [...expected].filter((n) => !checkpoint.weightMap.has(n));
  const unexpected = [...checkpoint.weightMap.keys()].filter((n) => !expected.has(n));
  if (missing.length + unexpected.length === 0) return;
  const show = (xs: string[]) => xs.slice(0, 10).map((x) => JSON.stringify(x)).join(', ') + (xs.length > 10 ? ` and ${xs.length - 10} more` : '');
  throw new MemhooksError(
    ERROR_CODES.CHECKPOINT_MISMATCH,
    `The checkpoint in ${dir} does not match the model: ` +
      [missing.length ? `missing weights ${show(missing)}` : '', unexpected.length ? `unexpected weights ${show(unexpected)}` : ''].filter(Boolean).join('; ') +
      `. Check that config.json and the weights come from the same save, and that the parameter names follow the model's fields.`,
  );
}

function resolveDeviceMap(model: Module, options: FromPretrainedOptions): DeviceMap | undefined {
  const { deviceMap, maxMemory, noSplitModuleClasses } = options;
  if (deviceMap === undefined) return undefined;
  let map = deviceMap;
  if (deviceMap === 'auto' || deviceMap === 'balanced') {
    const budgets = deviceMap === 'balanced' ? getBalancedMemory(model, { maxMemory, noSplitModuleClasses }) : maxMemory;
    map = inferAutoDeviceMap(model, { maxMemory: budgets, noSplitModuleClasses });
  }
  // Also for inferred maps: one that spills to 'disk' needs an offloadFolder, said before any weight is read.
  validateDeviceMap(model, map as DeviceMap, { offloadFolder: options.offloadFolder, where: 'fromPretrained' });
  return map as DeviceMap;
}

/** Hooks are needed unless every weight sits on the active backend. */
function needsDispatch(map: DeviceMap): boolean {
  return Object.values(map).some((d) => d !== 'device');
}

/**
 * Reads each tensor from its file span (shard by shard), decodes it to its tfjs dtype, converts it from
 * PyTorch's layout, and puts it in a new Parameter on its tier; the placeholder is disposed and every field
 * that held it (a tied weight has several) now holds the loaded one.
 */
async function loadInto(model: Module, owned: OwnedParameter[], checkpoint: WeightSource, map: DeviceMap | undefined): Promise<void> {
  const byName = new Map(owned.map((p) => [p.name, p]));
  const loaded = new Map<Parameter, Parameter>();
  try {
    for await (const tensor of checkpoint.tensors()) {
      const { name, info, location } = tensor;
      const target = byName.get(name)!;
      const values = decodeValues(info, await tensor.readBytes(), name, location);
      const kind = values instanceof Float32Array ? 'float32' : 'int32';
      if (kind !== target.param.dtype) {
        throw new MemhooksError(ERROR_CODES.CHECKPOINT_MISMATCH, `Weight ${JSON.stringify(name)} is ${info.dtype} in ${location}, but the model's parameter is ${target.param.dtype}.`);
      }
      const host = fromFile(name, values, info.shape, target);
      checkShape(name, host.data, host.shape, target.param);
      const param = new Parameter({ data: host.data, shape: target.param.shape });
      loaded.set(target.param, param);
      const device = map === undefined ? 'device' : map[entryFor(map, name)!]!;
      if (device === 'disk') {
        // Without a layout the file's values are the weight's as they are: uploads read them a piece at a time.
        const convert = target.layout === undefined ? undefined : (v: Float32Array | Int32Array, shape: number[]): Float32Array | Int32Array => fromFile(name, v, shape, target).data;
        param.toDisk(tensor.diskRef(param, convert));
      } else place(param, device);
    }
  } catch (error) {
    for (const p of loaded.values()) p.dispose();
    throw error;
  }
  swapParameters(model, loaded);
}

/** The file's values in the device layout; a layout that refuses the shape becomes an error naming the weight. */
function fromFile(name: string, values: Float32Array | Int32Array, shape: number[], target: OwnedParameter): { data: Float32Array | Int32Array; shape: number[] } {
  if (target.layout === undefined) return checkShape(name, values, shape, target.param);
  try {
    return target.layout.fromTorch({ data: values as Float32Array, shape });
  } catch (cause) {
    throw new MemhooksError(
      ERROR_CODES.CHECKPOINT_MISMATCH,
      `Weight ${JSON.stringify(name)} has shape [${shape.join(', ')}] in the checkpoint, which does not convert to the model's [${target.param.shape.join(', ')}] (${target.layout.describe}).`,
      { cause },
    );
  }
}

function checkShape(name: string, data: Float32Array | Int32Array, shape: readonly number[], param: Parameter): { data: Float32Array | Int32Array; shape: number[] } {
  if (shape.length !== param.shape.length || shape.some((d, i) => d !== param.shape[i]) || data.length !== param.size) {
    throw new MemhooksError(
      ERROR_CODES.CHECKPOINT_MISMATCH,
      `Weight ${JSON.stringify(name)} has shape [${shape.join(', ')}] in the checkpoint, but the model expects [${param.shape.join(', ')}]. The config and the weights do not match.`,
    );
  }
  return { data, shape: [...shape] };
}

/** Host weights stay where they are; compute devices get an upload on their backend ('device': the active one). */
function place(param: Parameter, device: Device): void {
  if (device === 'host') return;
  if (device === 'device' || !isComputeDevice(device)) param.toDevice();
  else withBackend(device, () => param.toDevice());
}

/** Replaces every field holding a placeholder (in any module of the tree) with the loaded parameter. */
function swapParameters(root: Module, loaded: Map<Parameter, Parameter>): void {
  for (const [, m] of root.namedModules()) {
    const fields = m as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const replacement = loaded.get(fields[key] as Parameter);
      if (replacement !== undefined) fields[key] = replacement;
    }
  }
  for (const old of loaded.keys()) old.dispose();
}

// Module.fromPretrained reaches this function through the slot that models/ declares.
fillFromPretrained(fromPretrained);
