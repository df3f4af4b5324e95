import { expect } from 'vitest';
import { appliedStrategies, Attention, HookRegistry, type Module } from '../../src/index.js';

/**
 * Everything a strategy can change on a tree, per module: the hook registrations (by identity), the
 * strategies applied there, an Attention's processor (by identity), and each own weight's tier and
 * storage dtype. Two snapshots compare equal only if nothing was registered, removed, moved or cast.
 */
export interface ModuleState {
  path: string;
  hooks: readonly object[];
  strategies: string[];
  processor: unknown;
  weights: Array<[string, string, string]>;
}

export function stateOf(root: Module): ModuleState[] {
  return root.namedModules().map(([path, m]) => ({
    path,
    hooks: [...(HookRegistry.get(m)?.entries ?? [])],
    strategies: appliedStrategies(m),
    processor: m instanceof Attention ? m.processor : undefined,
    weights: m.namedParameters({ recurse: false }).map(([n, p]) => [n, p.tier, p.storageDtype] as [string, string, string]),
  }));
}

/** Asserts two snapshots are the same state: equal values, and the very same hook entries and processors. */
export function expectSameState(after: ModuleState[], before: ModuleState[]): void {
  expect(after.map((s) => ({ ...s, hooks: s.hooks.length }))).toEqual(before.map((s) => ({ ...s, hooks: s.hooks.length })));
  after.forEach((s, i) => {
    s.hooks.forEach((h, j) => expect(h).toBe(before[i]!.hooks[j]));
    expect(s.processor).toBe(before[i]!.processor);
  });
}
