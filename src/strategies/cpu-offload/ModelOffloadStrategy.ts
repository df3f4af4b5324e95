import { InvalidArgumentError } from '../../base/errors.js';
import { HookRegistry } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import { MODEL_CPU_OFFLOAD, offloadingConflicts } from '../shared/offloadingNames.js';
import { strategy } from '../registry.js';
import { Strategy, type Undo } from '../Strategy.js';
import { ModelOffloadHook } from './ModelOffloadHook.js';
import { ModelOffloadState } from './ModelOffloadState.js';
import { checkOptionKeys } from '../optionKeys.js';
import { resolveExecutionDevice } from './options.js';

/** What the model-offload strategy receives; cpuOffloadWithHook builds it. */
export interface ModelOffloadOptions {
  executionDevice?: string;
  /** @internal The state of the previous module of the chain. */
  previous?: ModelOffloadState;
  /** @internal Receives the state of this application, for the handle's offload(). */
  onState?: (state: ModelOffloadState) => void;
}

const FN = 'cpuOffloadWithHook';

function resolve(module: Module, options: ModelOffloadOptions | undefined): void {
  checkOptionKeys(FN, options, ['executionDevice', 'previous', 'onState']);
  resolveExecutionDevice(FN, options?.executionDevice);
  if (options?.previous !== undefined && options.previous.module === module) {
    throw new InvalidArgumentError(`${FN}: \`prevModuleHook\` belongs to module ${describeModule(module)} itself. Pass the hook of the module that runs before it.`);
  }
}

/** Model offload as a strategy: see cpuOffloadWithHook. */
@strategy(MODEL_CPU_OFFLOAD)
export class ModelOffloadStrategy extends Strategy<ModelOffloadOptions | undefined> {
  override readonly freesDeviceMemory = true;
  override readonly conflictsWith = offloadingConflicts(MODEL_CPU_OFFLOAD);

  override validate(module: Module, options: ModelOffloadOptions | undefined): void {
    resolve(module, options);
  }

  override apply(module: Module, options: ModelOffloadOptions | undefined): Undo {
    resolve(module, options);
    const state = new ModelOffloadState(module);
    state.snapshot.offloadAll();
    let handle;
    try {
      handle = HookRegistry.checkIfExistsOrInitialize(module).registerHook(new ModelOffloadHook(state, options?.previous), MODEL_CPU_OFFLOAD);
    } catch (error) {
      state.snapshot.restore();
      throw error;
    }
    options?.onState?.(state);
    return {
      remove: () => {
        state.snapshot.assertRestorable(`every weight of ${describeModule(module)} (removing model offload)`);
        handle.remove();
        state.closed = true;
        state.snapshot.restore();
      },
    };
  }
}
