import { HookRegistry } from '../hooks/HookRegistry.js';
import type { Module } from '../models/Module.js';
import type { Parameter } from '../models/Parameter.js';
import { removeStrategiesIn } from '../strategies/registry.js';

/**
 * The first half of unwrapping any adapted model: every strategy applied to the tree comes off through its own
 * undo (most recently applied first), then every hook left on it (outermost first, so each deinitializeHook
 * runs), then the weights come back to the device. What the adapter patched on the model is its own to restore
 * after this. A hook or strategy that refuses removal throws here, leaving the model wrapped.
 */
export function detachTree(root: Module, parameters: Iterable<Parameter>): void {
  // Strategies own hooks (and may have moved parameters): their own undo runs before the raw hook removal.
  removeStrategiesIn(root);
  for (const m of root.modules()) {
    const registry = HookRegistry.get(m);
    if (registry === undefined) continue;
    for (const name of [...registry.hookOrder].reverse()) registry.removeHook(name, { recurse: false });
  }
  for (const p of parameters) if (!p.isDisposed && p.tier !== 'device') p.toDevice();
}
