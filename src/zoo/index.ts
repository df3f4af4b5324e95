// Real pre-trained models shipped inside npm packages.
export { PRETRAINED_MODELS, PRETRAINED_NAMES, type PretrainedName, type PretrainedSpec } from './catalog.js';
export { fetchPretrained, type PretrainedOptions } from './fetchPretrained.js';
export { loadPretrained } from './loadPretrained.js';
// The synthetic diffusion pipeline (seeded weights, sizes tiny to xl).
export * from './diffusion/index.js';
