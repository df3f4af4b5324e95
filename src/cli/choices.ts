/** Argument checks shared by the commands: one wording for each mistake, whichever command it is made in. */
import { DIFFUSION_SIZE_NAMES, type DiffusionSizeName } from '../zoo/diffusion/sizes.js';
import { unknownChoice } from './io.js';

/** Backends the commands run on: both ship inside their npm packages (no native download). */
export const CLI_BACKENDS = { wasm: 'wasm', cpu: 'cpu' } as const;
export type CliBackend = (typeof CLI_BACKENDS)[keyof typeof CLI_BACKENDS];

export function checkBackend(name: string): CliBackend {
  const backends = Object.values(CLI_BACKENDS) as string[];
  if (!backends.includes(name)) throw unknownChoice('backend', 'backends', name, backends);
  return name as CliBackend;
}

/** The size named by a `zoo:<size>` model argument; undefined when the argument is no zoo model. */
export function zooSizeOf(model: string): DiffusionSizeName | undefined {
  if (!model.startsWith('zoo:')) return undefined;
  const size = model.slice(4);
  if (!(DIFFUSION_SIZE_NAMES as readonly string[]).includes(size)) throw unknownChoice('zoo size', 'sizes', size, DIFFUSION_SIZE_NAMES);
  return size as DiffusionSizeName;
}
