import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import type { Module } from '../../models/Module.js';
import { describeModule, describeValue } from '../../models/paths.js';
import { getModuleOptions } from '../../models/reflection.js';
import { checkOptionKeys } from '../optionKeys.js';

export const OFFLOAD_TYPES = ['block_level', 'leaf_level'] as const;
export type OffloadType = (typeof OFFLOAD_TYPES)[number];

/** The options of applyGroupOffloading (DESIGN.md; diffusers' apply_group_offloading in camelCase). */
export interface GroupOffloadingOptions {
  /** Where weights compute: 'device' (the active backend) or the active backend's name. */
  onloadDevice?: string;
  /** Where weights wait: 'host' (the only memory tier besides the device; disk via offloadToDiskPath). */
  offloadDevice?: 'host';
  /** 'block_level' (default): chunks of ModuleList/Sequential children; 'leaf_level': every supported leaf. */
  offloadType?: OffloadType;
  /** Blocks per group at block level (required there, ≥ 1). */
  numBlocksPerGroup?: number;
  /** Accepted for parity: tfjs uploads are synchronous, so it changes nothing (streams are always non-blocking). */
  nonBlocking?: boolean;
  /** Record the execution order on the first forward, then prefetch the next groups while one computes. */
  useStream?: boolean;
  /** With useStream: free a staging slot as soon as the backend no longer reads it (else at the group's offload). */
  recordStream?: boolean;
  /** With useStream: allocate staging memory per transfer, sized to the group, instead of reserving it up front. */
  lowCpuMemUsage?: boolean;
  /** A folder: each group's weights go to one safetensors file there instead of host memory. */
  offloadToDiskPath?: string;
  /** Groups staged ahead of the one computing (default 1). */
  prefetchDepth?: number;
  /** Module paths whose weights never leave the device, or 'first_last' (first and last groups to run). */
  keepResident?: readonly string[] | 'first_last';
  /** Submodule paths that form one group each at block level though they are not list children (a VAE's encoder). */
  blockModules?: readonly string[];
}

/** Validated, frozen options with defaults filled in. */
export interface GroupOffloadingConfig {
  readonly offloadType: OffloadType;
  readonly numBlocksPerGroup: number;
  readonly nonBlocking: boolean;
  readonly useStream: boolean;
  readonly recordStream: boolean;
  readonly lowCpuMemUsage: boolean;
  readonly offloadToDiskPath: string | undefined;
  readonly prefetchDepth: number;
  readonly keepResident: readonly string[] | 'first_last';
  readonly blockModules: readonly string[];
}

/** The keys of GroupOffloadingOptions, for the unknown-key check. */
export const GROUP_OFFLOADING_OPTION_KEYS = [
  'onloadDevice', 'offloadDevice', 'offloadType', 'numBlocksPerGroup', 'nonBlocking', 'useStream', 'recordStream',
  'lowCpuMemUsage', 'offloadToDiskPath', 'prefetchDepth', 'keepResident', 'blockModules',
] as const;

const fail = (option: string, message: string): InvalidArgumentError =>
  new InvalidArgumentError(`applyGroupOffloading: option \`${option}\` ${message}`);

function bool(options: GroupOffloadingOptions, key: keyof GroupOffloadingOptions): boolean {
  const v = options[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw fail(key, `must be true or false, got ${describeValue(v)}.`);
  return v;
}

/** Module paths in `paths` must name modules of `root`; throws naming the option and listing nearby names. */
function checkPaths(root: Module, option: string, paths: unknown): readonly string[] {
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
    throw fail(option, `must be an array of module paths (strings), got ${describeValue(paths)}.`);
  }
  const known = new Set(root.namedModules().map(([p]) => p));
  for (const p of paths as string[]) {
    if (!known.has(p)) {
      const top = root.namedChildren().map(([k]) => k).join(', ');
      throw fail(option, `names "${p}", which is no module of ${describeModule(root)} (its children are: ${top || '(none)'}). Use dotted paths such as "blocks.0".`);
    }
  }
  return Object.freeze([...(paths as string[])]);
}

/** Checks every option before anything changes; throws an InvalidArgumentError that names the option. */
export function resolveConfig(root: Module, options: GroupOffloadingOptions | undefined): GroupOffloadingConfig {
  const o = checkOptionKeys('applyGroupOffloading', options, GROUP_OFFLOADING_OPTION_KEYS) as GroupOffloadingOptions;
  const backend = tf.getBackend();
  if (o.onloadDevice !== undefined && o.onloadDevice !== 'device' && o.onloadDevice !== backend) {
    throw fail('onloadDevice', `is "${String(o.onloadDevice)}", but weights compute on the active backend "${backend}". Pass 'device' (or "${backend}"), or switch backends with tf.setBackend first.`);
  }
  if (o.offloadDevice !== undefined && o.offloadDevice !== 'host') {
    throw fail('offloadDevice', `must be 'host', got ${JSON.stringify(o.offloadDevice)}. To offload to disk, pass offloadToDiskPath.`);
  }
  const offloadType = o.offloadType ?? 'block_level';
  if (!(OFFLOAD_TYPES as readonly string[]).includes(offloadType)) {
    throw fail('offloadType', `must be one of ${OFFLOAD_TYPES.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(offloadType)}.`);
  }
  let numBlocksPerGroup = 1;
  if (offloadType === 'block_level') {
    const n = o.numBlocksPerGroup;
    if (n === undefined) throw fail('numBlocksPerGroup', `must be given when offloadType is 'block_level' (how many consecutive blocks move together, e.g. 1).`);
    if (!Number.isSafeInteger(n) || n < 1) throw fail('numBlocksPerGroup', `must be a whole number ≥ 1, got ${String(n)}.`);
    numBlocksPerGroup = n;
  } else if (o.numBlocksPerGroup !== undefined) {
    throw fail('numBlocksPerGroup', `only applies to offloadType 'block_level'; at leaf level every supported leaf is its own group. Remove it.`);
  }
  const useStream = bool(o, 'useStream');
  const recordStream = bool(o, 'recordStream');
  if (recordStream && !useStream) throw fail('recordStream', 'cannot be true when useStream is false (it decides when a staging slot is reused).');
  const prefetchDepth = o.prefetchDepth ?? 1;
  if (!Number.isSafeInteger(prefetchDepth) || prefetchDepth < 1) throw fail('prefetchDepth', `must be a whole number ≥ 1, got ${String(o.prefetchDepth)}.`);
  const disk = o.offloadToDiskPath;
  if (disk !== undefined && (typeof disk !== 'string' || disk.trim() === '')) throw fail('offloadToDiskPath', `must be a folder path (a non-empty string), got ${describeValue(disk)}.`);
  let keepResident: readonly string[] | 'first_last' = [];
  if (o.keepResident === 'first_last') keepResident = 'first_last';
  else if (o.keepResident !== undefined) keepResident = checkPaths(root, 'keepResident', o.keepResident);
  const declared = getModuleOptions(root).groupOffloadBlockModules;
  const blockOption = o.blockModules !== undefined ? 'blockModules' : 'blockModules (from @module({ groupOffloadBlockModules }))';
  const blockModules = checkPaths(root, blockOption, o.blockModules ?? declared ?? []);
  if (blockModules.length > 0 && offloadType !== 'block_level' && o.blockModules !== undefined) {
    throw fail('blockModules', `only applies to offloadType 'block_level'. Remove it.`);
  }
  if (getModuleOptions(root).supportsGroupOffloading === false) {
    throw new InvalidArgumentError(`${describeModule(root)} declares @module({ supportsGroupOffloading: false }), so group offloading refuses it. Offload its submodules instead, or use another strategy.`);
  }
  return Object.freeze({
    offloadType,
    numBlocksPerGroup,
    nonBlocking: bool(o, 'nonBlocking'),
    useStream,
    recordStream,
    lowCpuMemUsage: bool(o, 'lowCpuMemUsage'),
    offloadToDiskPath: disk,
    prefetchDepth,
    keepResident,
    blockModules: offloadType === 'block_level' ? blockModules : [],
  });
}
