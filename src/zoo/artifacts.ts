import type * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from '../base/platform/fs.js';
import * as path from '../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { resolveFileInside } from '../io/safePaths.js';
import type { PretrainedSpec } from './catalog.js';
import { readBrowserifyExport } from './umdData.js';

/** The model.json fields the loaders use (tf.io.ModelJSON). */
export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: { [key: string]: {} };
  /** GraphModels: the SavedModel signature (input and output names) and the initializer graph, if any. */
  signature?: {};
  modelInitializer?: {};
  initializerSignature?: {};
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/** True when the entry's files are UMD modules (model.json object and base64 shards) rather than plain files. */
function isUmd(spec: PretrainedSpec): boolean {
  return spec.format === 'umd' || spec.format === 'graph-umd';
}

/** The model.json of an extracted entry, from a plain file or from the UMD module that exports it. */
export function readModelJson(dir: string, spec: PretrainedSpec): ModelJson {
  const modelFile = path.join(dir, spec.modelFile);
  if (!isUmd(spec)) return JSON.parse(readFileSync(modelFile, 'utf8')) as ModelJson;
  const json = readUmdData(modelFile);
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !('modelTopology' in json) || !Array.isArray((json as ModelJson).weightsManifest)) {
    throw new MemhooksError(ERROR_CODES.UNSUPPORTED_MODEL, `${modelFile} does not export a model.json object (with modelTopology and weightsManifest); the ${spec.package}@${spec.version} layout is not the one memhooks knows.`);
  }
  return json as ModelJson;
}

/**
 * The artifacts of an extracted entry for tf.io.fromMemory. nsfwjs ships its models as UMD (browserify) modules:
 * model.min.js exports the model.json object and each group…shard….min.js the shard bytes as a base64 string
 * (uint8-quantized weights, which tf.io's weight decoding dequantizes to float32 during loading). Those files
 * are never run: the exported literal is parsed as data (see readBrowserifyExport).
 */
export function readArtifacts(dir: string, spec: PretrainedSpec): tf.io.ModelArtifacts {
  const json = readModelJson(dir, spec);
  const readShard = isUmd(spec) ? (shard: string) => readUmdShard(dir, spec, shard) : (shard: string) => readFileSync(resolveFileInside(dir, shard, `${spec.modelFile} weightsManifest`));
  return toArtifacts(json, readShard);
}

function readUmdShard(dir: string, spec: PretrainedSpec, shard: string): Uint8Array {
  const file = resolveFileInside(dir, `${shard}.min.js`, `${spec.modelFile} weightsManifest`);
  const b64 = readUmdData(file);
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new MemhooksError(ERROR_CODES.UNSUPPORTED_MODEL, `${file} does not export a base64 string; the ${spec.package}@${spec.version} layout is not the one memhooks knows.`);
  }
  return Buffer.from(b64, 'base64');
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
    signature: json.signature,
    modelInitializer: json.modelInitializer,
    initializerSignature: json.initializerSignature,
    weightSpecs,
    weightData: weightData.buffer,
  };
}
