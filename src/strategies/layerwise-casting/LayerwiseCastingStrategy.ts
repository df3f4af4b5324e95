import { StrategyConflictError } from '../../base/errors.js';
import { HookRegistry, type HookHandle } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import { ancestorsOf, describeModule } from '../../models/paths.js';
import { memory } from '../../runtime/memory.js';
import { OFFLOADING_STRATEGIES } from '../shared/offloadingNames.js';
import { appliedStrategies, strategy } from '../registry.js';
import { Strategy, type Undo } from '../Strategy.js';
import { decoderFor } from './decodeSites.js';
import { LayerwiseCastingHook } from './LayerwiseCastingHook.js';
import { LAYERWISE_CASTING } from './names.js';
import { resolveConfig, type LayerwiseCastingOptions } from './options.js';
import { selectLeaves } from './selection.js';

/**
 * Layerwise casting as a strategy plugin: every supported leaf that is not skipped keeps its weights in a
 * low-precision storage dtype and computes in float32. See docs/layerwise-casting.md.
 */
@strategy(LAYERWISE_CASTING)
export class LayerwiseCastingStrategy extends Strategy<LayerwiseCastingOptions | undefined> {
  // Its promise is fewer device bytes too: the float32 values decoded for each forward must leave the GPU after it.
  override readonly freesDeviceMemory = true;
  override validate(module: Module, options: LayerwiseCastingOptions | undefined): void {
    resolveConfig(options);
    const offloading = offloadingAround(module);
    if (offloading !== undefined) {
      throw new StrategyConflictError(
        `Layerwise casting must be applied before "${offloading.name}", which is already applied to ${offloading.where}: ` +
          `offloading took its copies of the weights in float32. Remove "${offloading.name}" (handle.remove()), call ` +
          `applyLayerwiseCasting first, then apply "${offloading.name}" again; its host copies and transfers are then low-precision too.`,
      );
    }
    for (const leaf of selectLeaves(module, resolveConfig(options)).leaves) {
      // Reading the tier throws ParameterDisposedError naming a disposed weight, before anything changes.
      for (const p of leaf.params) void p.tier;
    }
  }

  override apply(root: Module, options: LayerwiseCastingOptions | undefined): Undo {
    const config = resolveConfig(options);
    const decode = decoderFor(config.decodeSite);
    const { leaves } = selectLeaves(root, config);
    const handles: HookHandle[] = [];
    for (const leaf of leaves) {
      const hook = new LayerwiseCastingHook(leaf.path, leaf.params, config.storageDtype, decode, config.decodeSite);
      handles.push(HookRegistry.checkIfExistsOrInitialize(leaf.module).registerHook(hook, LAYERWISE_CASTING));
    }
    return {
      remove: () => {
        const offloading = offloadingAround(root);
        if (offloading !== undefined) {
          throw new StrategyConflictError(
            `Cannot remove layerwise casting from ${describeModule(root)} while "${offloading.name}" is applied to ${offloading.where}: ` +
              `its offloaded copies are low-precision. Remove "${offloading.name}" first, then layerwise casting.`,
          );
        }
        // float32 storage takes 2× or 4× the device bytes: check the budget before changing anything.
        const growth = leaves.flatMap((l) => l.params).filter((p) => p.isResident && p.isLowPrecision).reduce((n, p) => n + p.size * 4 - p.byteLength, 0);
        memory.assertDeviceBudget(growth, `the float32 weights of ${describeModule(root)} (removing layerwise casting)`, 'Free device memory first.');
        for (const h of handles.reverse()) h.remove();
      },
    };
  }
}

/** An offloading strategy applied to `module`, a module under it or one above it. */
function offloadingAround(module: Module): { name: string; where: string } | undefined {
  for (const m of [module, ...module.modules(), ...(ancestorsOf(module) as Module[])]) {
    const name = appliedStrategies(m).find((n) => (OFFLOADING_STRATEGIES as readonly string[]).includes(n));
    if (name !== undefined) return { name, where: `module ${describeModule(m)}` };
  }
  return undefined;
}
