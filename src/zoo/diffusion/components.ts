import { join } from '../../base/platform/path.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { memory } from '../../runtime/memory.js';
import { withParameterInit } from '../../models/initContext.js';
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
  /**
   * Where the weights are generated: 'host' never puts them on the device (offload them from there); 'disk'
   * writes them under `dir` as they are made, so that not even host memory holds the model. Default 'device'.
   */
  tier?: 'device' | 'host' | 'disk';
  /**
   * Tier 'disk' only (required there): the folder of the weight files, one sub-folder per component
   * (`textEncoder/`, `denoiser/`, `vae/`: components share module names). The files are the caller's:
   * disposing the pipeline leaves them.
   */
  dir?: string;
  /** Seed of the weights (default 0): the same seed gives the same weights on every backend and tier. */
  seed?: number;
}

/** The three components of the zoo pipeline at a given size, with deterministic seeded weights. */
export function createDiffusionComponents(size: DiffusionSizeName, options: CreateDiffusionOptions = {}): DiffusionComponents {
  const config = DIFFUSION_SIZES[size];
  if (config === undefined) {
    throw new InvalidArgumentError(`Unknown zoo size ${JSON.stringify(size)}. Sizes: ${DIFFUSION_SIZE_NAMES.join(', ')}.`);
  }
  const { tier = 'device', seed = 0, dir } = options;
  if (tier !== 'disk' && dir !== undefined) {
    throw new InvalidArgumentError(`createDiffusionComponents: \`dir\` applies only to tier 'disk', but tier is '${tier}'. Pass tier: 'disk', or drop \`dir\`.`);
  }
  if (tier === 'disk' && (typeof dir !== 'string' || dir.trim() === '')) {
    throw new InvalidArgumentError(`createDiffusionComponents("${size}", { tier: 'disk' }) needs \`dir\`, a folder for the weight files, got ${dir === undefined ? 'none' : JSON.stringify(dir)}.`);
  }
  // Refused before the first weight is made, rather than half built (or, on wasm, past the heap cap).
  if (tier === 'device') {
    memory.assertDeviceBudget(
      diffusionParameterCounts(size).total * 4,
      `the zoo pipeline "${size}" with every weight resident`,
      `Generate it on the host (createDiffusionComponents("${size}", { tier: 'host' })) or, past host memory, straight into disk ({ tier: 'disk', dir }), and apply group offloading to its components.`,
    );
  }
  // One seed per component, so that a component's weights do not depend on the others' sizes; one folder per
  // component on disk.
  const init = (k: number, name: string) => ({ tier, seed: seed * 3 + k, ...(tier === 'disk' ? { dir: join(dir!, name) } : {}) });
  const built: Array<{ dispose(): void }> = [];
  try {
    const textEncoder = withParameterInit(init(1, 'textEncoder'), () => new ZooTextEncoder({ ...config.textEncoder }));
    built.push(textEncoder);
    const denoiser = withParameterInit(init(2, 'denoiser'), () => new FluxDenoiser({ ...config.denoiser, textDim: textEncoder.dim }));
    built.push(denoiser);
    const vae = withParameterInit(init(3, 'vae'), () => new VaeDecoder({ ...config.vae, blockOutChannels: [...config.vae.blockOutChannels] }));
    return { textEncoder, denoiser, vae };
  } catch (error) {
    // A half-built pipeline is released: the caller never gets the components made before the failure.
    for (const m of built) m.dispose();
    throw error;
  }
}
