import { assertModule } from '../../models/assertModule.js';
import type { Module } from '../../models/Module.js';
import { isComputeDevice, normalizeMaxMemory } from './devices.js';
import { noSplitTest, type InferDeviceMapOptions } from './infer.js';
import { computeModuleSizes } from './sizes.js';

export interface BalancedMemoryOptions extends InferDeviceMapOptions {
  /** Keep the first compute device as empty as possible (accelerate's balanced_low_0). */
  lowZero?: boolean;
}

/**
 * accelerate's get_balanced_memory (diffusers-semantics §6.4): budgets that spread the model evenly over
 * the compute devices instead of filling the first. Each device but the last gets
 * min(total / n + buffer, its budget), where buffer = 1.25 × max(size of the first no-split module of each
 * class, mean size of the leaf modules); the last keeps its whole budget to absorb rounding. 'host' and
 * 'disk' are returned unchanged. Pass the result to inferAutoDeviceMap as maxMemory.
 *
 * @example inferAutoDeviceMap(model, { maxMemory: getBalancedMemory(model, { maxMemory: { cpu: '1GB', wasm: '1GB' } }) })
 */
export function getBalancedMemory(module: Module, options: BalancedMemoryOptions = {}): Record<string, number> {
  assertModule(module, 'getBalancedMemory');
  const budgets = normalizeMaxMemory(options.maxMemory, 'getBalancedMemory');
  const out: Record<string, number> = Object.fromEntries([...budgets].filter(([k]) => k !== 'disk'));
  const gpus = Object.keys(out).filter((k) => isComputeDevice(k) && out[k]! > 0);
  if (gpus.length === 0) return out;
  let lowZero = options.lowZero === true;
  if (gpus.length === 1) {
    lowZero = false;
    // As accelerate: one device and no user budget keeps 10% of the default budget free as headroom.
    if (options.maxMemory === undefined) out[gpus[0]!] = Math.floor(0.9 * out[gpus[0]!]!);
  }
  const sizes = computeModuleSizes(module, options);
  const total = sizes.get('')!;
  let perDevice = Math.floor(total / (lowZero ? gpus.length - 1 : gpus.length));
  perDevice += bufferSize(module, sizes, options);
  const first = Object.keys(out).find(isComputeDevice)!;
  for (const d of gpus.slice(0, -1)) out[d] = Math.min(lowZero && d === first ? out[d]! : perDevice, out[d]!);
  if (lowZero) {
    const others = gpus.filter((d) => d !== first).reduce((a, d) => a + out[d]!, 0);
    out[first] = Math.min(Math.max(0, total - others), out[first]!);
  }
  return out;
}

function bufferSize(module: Module, sizes: Map<string, number>, options: InferDeviceMapOptions): number {
  const noSplit = noSplitTest(options.noSplitModuleClasses);
  const firstOfClass = new Map<Function, number>();
  for (const [path, m] of module.namedModules()) {
    if (path !== '' && noSplit(m) && !firstOfClass.has(m.constructor)) firstOfClass.set(m.constructor, sizes.get(path)!);
  }
  const noSplitMax = Math.max(0, ...firstOfClass.values());
  // Leaves of the size map are parameters; without them, the leaves are the final modules (modules without
  // any parameter have no entry in accelerate's map, so they are not leaves either).
  const modulePaths = module.namedModules().filter(([, m]) => m.parameters().length > 0).map(([p]) => p);
  const leaves = modulePaths.filter((p) => !modulePaths.some((q) => q !== p && (p === '' || q.startsWith(`${p}.`))));
  const meanLeaves = Math.trunc(leaves.reduce((a, p) => a + sizes.get(p)!, 0) / Math.max(leaves.length, 1));
  return Math.trunc(1.25 * Math.max(noSplitMax, meanLeaves));
}
