import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { importOptionalPeer } from '../runtime/optionalPeers.js';
import type { TfjsLayersModel } from '../models/wrapped/TfjsLayersModel.js';
import { resolveFileInside } from '../io/safePaths.js';
import type { PretrainedName, PretrainedSpec } from './catalog.js';
import { readBrowserifyExport } from './umdData.js';
import { fetchPretrained, pretrainedSpec, type PretrainedOptions } from './fetchPretrained.js';

/** The model.json fields this loader uses (tf.io.ModelJSON). */
interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: { [key: string]: {} };
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/**
 * Loads a real pre-trained LayersModel, fetching its npm package into the cache first when needed.
 * Needs `@tensorflow/tfjs-layers` (an optional peer of memhooks).
 *
 * The model is a tfjs-layers LayersModel. Its declared type is `M`, by default the members memhooks knows
 * of (TfjsLayersModel), since the declarations cannot import the optional peer; an app that has
 * tfjs-layers gets the full type by naming it: `const model: LayersModel = await loadPretrained(…)`.
 *
 * @example
 * const model = await loadPretrained('upscaler-esrgan-2x');
 * const root = wrapLayersModel(model);
 */
export async function loadPretrained<M extends TfjsLayersModel = TfjsLayersModel>(name: PretrainedName, options: PretrainedOptions = {}): Promise<M> {
  const spec = pretrainedSpec(name);
  // The peer first: without it, there is no point in downloading the model.
  const tfl = await importOptionalPeer('@tensorflow/tfjs-layers', 'Loading a pre-trained LayersModel', () => import('@tensorflow/tfjs-layers'));
  const dir = await fetchPretrained(name, options);
  const artifacts = spec.format === 'umd' ? readUmdArtifacts(dir, spec) : readJsonArtifacts(dir, spec);
  // M is what the caller names; the object is the LayersModel that tfjs-layers built, whatever M says.
  return (await tfl.loadLayersModel(tf.io.fromMemory(artifacts))) as TfjsLayersModel as M;
}

/** A plain model.json with binary shards next to it. */
function readJsonArtifacts(dir: string, spec: PretrainedSpec): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(path.join(dir, spec.modelFile), 'utf8')) as ModelJson;
  return toArtifacts(json, (shard) => readFileSync(resolveFileInside(dir, shard, `${spec.modelFile} weightsManifest`)));
}

/**
 * nsfwjs ships its model as UMD (browserify) modules: model.min.js exports the model.json object and each
 * group…shard….min.js exports the shard bytes as a base64 string (uint8-quantized weights, which
 * tf.io's weight decoding dequantizes to float32 during loading). The files are never run: the exported
 * literal is parsed as data (see readBrowserifyExport).
 */
function readUmdArtifacts(dir: string, spec: PretrainedSpec): tf.io.ModelArtifacts {
  const modelFile = path.join(dir, spec.modelFile);
  const json = readUmdData(modelFile);
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('modelTopology' in json) || !Array.isArray((json as ModelJson).weightsManifest)) {
    throw new MemhooksError(ERROR_CODES.UNSUPPORTED_MODEL, `${modelFile} does not export a model.json object (with modelTopology and weightsManifest); the ${spec.package}@${spec.version} layout is not the one memhooks knows.`);
  }
  return toArtifacts(json as ModelJson, (shard) => {
    const file = resolveFileInside(dir, `${shard}.min.js`, `${spec.modelFile} weightsManifest`);
    const b64 = readUmdData(file);
    if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      throw new MemhooksError(ERROR_CODES.UNSUPPORTED_MODEL, `${file} does not export a base64 string; the ${spec.package}@${spec.version} layout is not the one memhooks knows.`);
    }
    return Buffer.from(b64, 'base64');
  });
}

function readUmdData(file: string): unknown {
  return readBrowserifyExport(readFileSync(file, 'utf8'), file);
}

/** Artifacts for tf.io.fromMemory: weight specs in manifest order and the shards concatenated in that order. */
function toArtifacts(json: ModelJson, readShard: (file: string) => Uint8Array): tf.io.ModelArtifacts {
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const file of group.paths) shards.push(readShard(file));
  }
  const weightData = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs,
    weightData: weightData.buffer,
  };
}
