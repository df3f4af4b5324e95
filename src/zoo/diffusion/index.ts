// The zoo's diffusion pipeline: a text encoder, a Flux-style denoiser and a VAE decoder, seeded.
export { ZooTextEncoder, EncoderLayer, type TextEncoderConfig } from './TextEncoder.js';
export { FluxDenoiser, TimestepEmbedding, type DenoiserConfig } from './Denoiser.js';
export { DoubleStreamBlock, SingleStreamBlock, type BlockConfig } from './blocks.js';
export { JointAttention } from './JointAttention.js';
export { AdaLayerNormZero, AdaLayerNormContinuous } from './modulation.js';
export { VaeDecoder, ResnetBlock, SpatialAttention, Upsample2D, VaeMidBlock, UpDecoderBlock, type VaeDecoderConfig } from './VaeDecoder.js';
export { DIFFUSION_SIZES, DIFFUSION_SIZE_NAMES, type DiffusionSize, type DiffusionSizeName } from './sizes.js';
export { diffusionParameterCounts, type DiffusionParameterCounts } from './parameterCount.js';
export { createDiffusionComponents, DIFFUSION_COMPONENT_NAMES, type DiffusionComponents, type CreateDiffusionOptions } from './components.js';
export { generateImage, type GenerateOptions } from './generate.js';
export { DiffusionPipeline } from './DiffusionPipeline.js';
