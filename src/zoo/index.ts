// Real pre-trained models shipped inside npm packages.
export {
  PRETRAINED_MODELS,
  PRETRAINED_NAMES,
  PRETRAINED_LAYERS_NAMES,
  PRETRAINED_GRAPH_NAMES,
  isGraphFormat,
  type PretrainedName,
  type LayersPretrainedName,
  type GraphPretrainedName,
  type PretrainedModel,
  type PretrainedFormat,
  type PretrainedSpec,
} from './catalog.js';
export { fetchPretrained, type PretrainedOptions } from './fetchPretrained.js';
export { loadPretrained } from './loadPretrained.js';
export { pretrainedWeightSpecs, type ShippedWeightSpec, type ShippedQuantization } from './shippedWeights.js';
// The synthetic diffusion pipeline (seeded weights, sizes tiny to xl).
export * from './diffusion/index.js';
