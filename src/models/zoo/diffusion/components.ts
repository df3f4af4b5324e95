import { InvalidArgumentError } from '../../../errors.js';
import { memory } from '../../../runtime/memory.js';
import { withParameterInit } from '../../initContext.js';
import { diffusionParameterCounts } from './parameterCount.js';
import { FluxDenoiser } from './Denoiser.js';
import { DIFFUSION_SIZE_NAMES, DIFFUSION_SIZES, type DiffusionSizeName } from './sizes.js';
import { ZooTextEncoder } from './TextEncoder.js';
import { VaeDecoder } from './VaeDecoder.js';

export interface DiffusionComponents {
  textEncoder: ZooTextEncoder;
  denoiser: FluxDenoiser;
  vae: VaeDecoder;
}

/** The components in the order the pipeline runs them. */
export const DIFFUSION_COMPONENT_NAMES = ['textEncoder', 'denoiser', 'vae'] as const satisfies ReadonlyArray<keyof DiffusionComponents>;

export interface CreateDiffusionOptions {
  /** Where the weights are generated: 'host' never puts them on the device (offload them from there). Default 'device'. */
  tier?: 'device' | 'host';
  /** Seed of the weights (default 0): the same seed gives the same weights on every backend and tier. */
  seed?: number;
}

/** The three components of the zoo pipeline at a given size, with deterministic seeded weights. */
export function createDiffusionComponents(size: DiffusionSizeName, options: CreateDiffusionOptions = {}): DiffusionComponents {
  const config = DIFFUSION_SIZES[size];
  if (config === undefined) {
    throw new InvalidArgumentError(`Unknown zoo size ${JSON.stringify(size)}. Sizes: ${DIFFUSION_SIZE_NAMES.join(', ')}.`);
  }
  const { tier = 'device', seed = 0 } = options;
  // Refused before the first weight is made, rather than half built (or, on wasm, past the heap cap).
  if (tier === 'device') {
    memory.assertDeviceBudget(
      diffusionParameterCounts(size).total * 4,
      `the zoo pipeline "${size}" with every weight resident`,
      `Generate it on the host (createDiffusionComponents("${size}", { tier: 'host' })) and apply group offloading to its components.`,
    );
  }
  // One seed per component, so that a component's weights do not depend on the others' sizes.
  const textEncoder = withParameterInit({ tier, seed: seed * 3 + 1 }, () => new ZooTextEncoder({ ...config.textEncoder }));
  const denoiser = withParameterInit({ tier, seed: seed * 3 + 2 }, () => new FluxDenoiser({ ...config.denoiser, textDim: textEncoder.dim }));
  const vae = withParameterInit({ tier, seed: seed * 3 + 3 }, () => new VaeDecoder({ ...config.vae, blockOutChannels: [...config.vae.blockOutChannels] }));
  return { textEncoder, denoiser, vae };
}
