import type { DenoiserConfig } from './Denoiser.js';
import type { TextEncoderConfig } from './TextEncoder.js';
import type { VaeDecoderConfig } from './VaeDecoder.js';

export interface DiffusionSize {
  textEncoder: TextEncoderConfig;
  denoiser: Omit<DenoiserConfig, 'textDim'>;
  vae: VaeDecoderConfig;
  /** Side of the square latent; the image side is latentSize·2^(vae blocks − 1). */
  latentSize: number;
  /** Prompt length in tokens. */
  promptTokens: number;
  /** What the size is for, shown by `memhooks inspect`. */
  description: string;
}

const text = (heads: number, dimHead: number, numLayers: number): TextEncoderConfig => ({
  vocabSize: 1024,
  maxPositions: 77,
  heads,
  dimHead,
  numLayers,
  mlpRatio: 4,
});

const denoiser = (heads: number, dimHead: number, numDoubleBlocks: number, numSingleBlocks: number): DiffusionSize['denoiser'] => ({
  inChannels: 4,
  patchSize: 2,
  heads,
  dimHead,
  numDoubleBlocks,
  numSingleBlocks,
  mlpRatio: 4,
});

const vae = (blockOutChannels: number[], normGroups: number): VaeDecoderConfig => ({
  latentChannels: 4,
  outChannels: 3,
  blockOutChannels,
  layersPerBlock: 1,
  normGroups,
});

/**
 * The zoo's diffusion pipeline sizes. Parameter counts (float32 bytes): tiny ≈ 0.2 M, small ≈ 12 M
 * (47 MB), base ≈ 140 M (0.55 GB), large ≈ 520 M (2.1 GB), xl ≈ 1.2 G (4.7 GB: more than the wasm heap's
 * 4 GiB cap can ever hold). test/models/zoo checks these counts.
 */
export const DIFFUSION_SIZES = {
  tiny: { textEncoder: text(2, 16, 1), denoiser: denoiser(2, 16, 1, 1), vae: vae([16, 32], 8), latentSize: 8, promptTokens: 8, description: 'tests' },
  small: { textEncoder: text(4, 64, 2), denoiser: denoiser(4, 64, 2, 4), vae: vae([32, 64, 64], 16), latentSize: 16, promptTokens: 16, description: 'the default demo' },
  base: { textEncoder: text(8, 64, 4), denoiser: denoiser(12, 64, 4, 4), vae: vae([64, 128, 128], 32), latentSize: 16, promptTokens: 16, description: '~0.5 GB float32' },
  large: { textEncoder: text(8, 64, 4), denoiser: denoiser(24, 64, 4, 4), vae: vae([64, 128, 128], 32), latentSize: 16, promptTokens: 16, description: '~2 GB float32' },
  xl: { textEncoder: text(8, 64, 4), denoiser: denoiser(32, 64, 4, 8), vae: vae([64, 128, 128], 32), latentSize: 16, promptTokens: 16, description: '> 4 GiB float32: past the wasm heap cap' },
} as const satisfies Record<string, DiffusionSize>;

export type DiffusionSizeName = keyof typeof DIFFUSION_SIZES;
export const DIFFUSION_SIZE_NAMES = Object.keys(DIFFUSION_SIZES) as DiffusionSizeName[];
