import { InvalidArgumentError } from '../../base/errors.js';
import type { Module } from '../../models/Module.js';
import { describeValue } from '../../models/paths.js';
import { MODEL_CPU_OFFLOAD } from '../shared/offloadingNames.js';
import { checkOptionKeys } from '../optionKeys.js';
import { applyStrategy } from '../registry.js';
import type { StrategyHandle } from '../Strategy.js';
import type { ModelOffloadState } from './ModelOffloadState.js';
import './ModelOffloadStrategy.js';
import type { ModelOffloadOptions } from './ModelOffloadStrategy.js';
import type { OptionsOf } from '../StrategyOptionsMap.js';
import type { ModelOffloadStrategy } from './ModelOffloadStrategy.js';

// The strategy declares its own entry of the name → options map, so the strategies' base never imports a
// strategy folder (docs/architecture.md).
declare module '../StrategyOptionsMap.js' {
  interface StrategyOptionsMap {
    model_cpu_offload: OptionsOf<ModelOffloadStrategy>;
  }
}

/** What cpuOffloadWithHook returns (accelerate's UserCpuOffloadHook): a strategy handle that can also offload. */
export interface CpuOffloadHandle extends StrategyHandle {
  /** Moves the module's weights to the host now (a dispose); its next forward onloads them again. */
  offload(): void;
  /** Whether the module's weights are on the device. */
  readonly onloaded: boolean;
}

export interface CpuOffloadWithHookOptions {
  /** Where the module computes: 'device' (the active backend, the default) or its name. */
  executionDevice?: string;
  /** The handle of the module that runs before this one: it is offloaded when this one onloads. */
  prevModuleHook?: CpuOffloadHandle;
}

// Process-global key: a handle made by one copy of memhooks (its ESM or CJS build) chains in the other.
const STATE = Symbol.for('memhooks.modelOffloadState');
type WithState = { [STATE]?: ModelOffloadState };

/**
 * Model offload (accelerate's cpu_offload_with_hook): the module's weights wait on the host and move to the
 * device whole when its forward starts; they stay there after it, until offload() or until the next module
 * of a chain (the one given this handle as `prevModuleHook`) starts. Only one module of a chain is on the
 * device at a time, and a module called many times in a row (a denoiser) is uploaded once.
 *
 * @example
 * const enc = cpuOffloadWithHook(textEncoder);
 * const den = cpuOffloadWithHook(denoiser, { prevModuleHook: enc });
 * textEncoder.forward(ids);   // textEncoder on the device
 * denoiser.forward(latents);  // textEncoder offloaded, denoiser onloaded, and kept for the next step
 * den.offload();              // end of the run: nothing left on the device
 */
export function cpuOffloadWithHook(module: Module, options: CpuOffloadWithHookOptions = {}): CpuOffloadHandle {
  // The public keys, checked here: the strategy's own check also knows the internal ones (previous, onState).
  const { prevModuleHook, ...rest } = checkOptionKeys('cpuOffloadWithHook', options, ['executionDevice', 'prevModuleHook']) as CpuOffloadWithHookOptions;
  let previous: ModelOffloadState | undefined;
  if (prevModuleHook !== undefined) {
    previous = (prevModuleHook as WithState | null)?.[STATE];
    if (previous === undefined) {
      throw new InvalidArgumentError(`cpuOffloadWithHook: \`prevModuleHook\` must be a handle returned by cpuOffloadWithHook, got ${describeValue(prevModuleHook)}.`);
    }
  }
  let state: ModelOffloadState | undefined;
  const strategyOptions: ModelOffloadOptions = { ...rest, previous, onState: (s) => (state = s) };
  const handle = applyStrategy(module, MODEL_CPU_OFFLOAD, strategyOptions);
  const s = state!;
  const result: CpuOffloadHandle = {
    get name() {
      return handle.name;
    },
    get module() {
      return handle.module;
    },
    get removed() {
      return handle.removed;
    },
    remove: () => handle.remove(),
    [Symbol.dispose]: () => handle.remove(),
    offload: () => s.offload(),
    get onloaded() {
      return !handle.removed && s.onloaded;
    },
  };
  Object.defineProperty(result, STATE, { value: s, enumerable: false });
  return result;
}
