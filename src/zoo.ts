// 'memhooks/zoo': the model zoo (the diffusion pipeline's components, built with memhooks' own layers) and the
// pretrained catalog (tfjs-layers models fetched once into a cache). The SDK itself is 'memhooks'.
// api/zoo.api.md records this surface; `npm run api:update` refreshes it after a deliberate change.

// The Reflect metadata polyfill must load before tsyringe and before any decorator runs.
import 'reflect-metadata';
// Fills the Module.fromPretrained/savePretrained slot (the loading floor sits above models).
import './loading/index.js';

export {
  PRETRAINED_MODELS,
  PRETRAINED_NAMES,
  type PretrainedName,
  type PretrainedSpec,
  type PretrainedOptions,
  fetchPretrained,
  loadPretrained,
  DiffusionPipeline,
  createDiffusionComponents,
  type CreateDiffusionOptions,
  type DiffusionComponents,
  DIFFUSION_COMPONENT_NAMES,
  DIFFUSION_SIZES,
  DIFFUSION_SIZE_NAMES,
  type DiffusionSize,
  type DiffusionSizeName,
  generateImage,
  type GenerateOptions,
  diffusionParameterCounts,
  type DiffusionParameterCounts,
  FluxDenoiser,
  type DenoiserConfig,
  TimestepEmbedding,
  JointAttention,
  DoubleStreamBlock,
  SingleStreamBlock,
  type BlockConfig,
  AdaLayerNormZero,
  AdaLayerNormContinuous,
  ZooTextEncoder,
  EncoderLayer,
  type TextEncoderConfig,
  VaeDecoder,
  type VaeDecoderConfig,
  VaeMidBlock,
  UpDecoderBlock,
  ResnetBlock,
  SpatialAttention,
  Upsample2D,
} from './zoo/index.js';
