import type { Module } from '../../models/Module.js';
import { DiskStore } from './disk/DiskStore.js';
import type { ModuleGroup } from './ModuleGroup.js';
import type { GroupOffloadingConfig } from './options.js';
import { HostStore, type GroupStore } from './stores.js';

/** The store for the configured tier: the disk when offloadToDiskPath is given, else host memory. */
export function createStore(root: Module, config: GroupOffloadingConfig, groups: readonly ModuleGroup[]): GroupStore {
  if (config.offloadToDiskPath === undefined) return new HostStore(config, groups);
  const paths = new Map(root.namedParameters().map(([path, p]) => [p, path]));
  return new DiskStore(config.offloadToDiskPath, config, groups, paths);
}
