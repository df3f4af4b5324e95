import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../../base/errors.js';
import { Module } from '../Module.js';
import { Parameter } from '../Parameter.js';
import { describeModule, describeValue } from '../paths.js';
import { formatShape } from './checks.js';
import { permuteHost } from './permute.js';

/**
 * Weights live on the device in the layout their backend computes fastest with (Linear [in, out] as tfjs'
 * Dense kernel, convolutions HWIO), while PyTorch/diffusers checkpoints store [out, in] and OIHW. The
 * conversion happens once, at the checkpoint boundary (load, save, PyTorch-layout import), on host bytes;
 * never per forward. This file is the registry that boundary asks: per module class and parameter key, how
 * the device layout differs from PyTorch's. See docs/layers.md.
 */

export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

/** How a parameter's device layout differs from PyTorch's; undefined when identical. */
export interface TorchLayout {
  toTorch(t: HostTensor): HostTensor;
  fromTorch(t: HostTensor): HostTensor;
  describe: string;
}

/** Builds the layout of one parameter of one module instance (a conv's depends on its groups, sizes...). */
export type TorchLayoutFactory<M extends Module = Module> = (module: M, parameter: Parameter) => TorchLayout | undefined;

type ModuleClass<M extends Module> = abstract new (...args: any[]) => M;

type Registry = WeakMap<Function, Map<string, TorchLayoutFactory<any>>>;

// Process-global, so that a layout registered through one copy of memhooks (ESM or CJS build) is seen by
// the checkpoint code of the other.
const KEY = Symbol.for('memhooks.torchLayouts');
function registry(): Registry {
  const g = globalThis as Record<symbol, unknown>;
  if (!(g[KEY] instanceof WeakMap)) g[KEY] = new WeakMap();
  return g[KEY] as Registry;
}

/**
 * Declares how parameter `paramKey` of every instance of `cls` (and its subclasses, unless they register
 * their own) is laid out relative to PyTorch. Returns a handle whose remove() undoes the registration.
 *
 * @example
 * registerTorchLayout(MyDense, 'kernel', (m) => permutedLayout([m.inDim, m.outDim], [1, 0], '[in, out] ↔ torch [out, in]'));
 */
export function registerTorchLayout<M extends Module>(
  cls: ModuleClass<M>,
  paramKey: string,
  factory: TorchLayoutFactory<M>,
): { remove(): void } {
  if (typeof cls !== 'function' || !(cls.prototype instanceof Module)) {
    throw new InvalidArgumentError(`registerTorchLayout: \`cls\` must be a Module subclass, got ${describeValue(cls)}.`);
  }
  if (typeof paramKey !== 'string' || paramKey === '' || paramKey.includes('.')) {
    throw new InvalidArgumentError(
      `registerTorchLayout: \`paramKey\` must be the parameter's own field name (no dots), got ${JSON.stringify(paramKey)}.`,
    );
  }
  if (typeof factory !== 'function') {
    throw new InvalidArgumentError(`registerTorchLayout: \`factory\` must be a function, got ${describeValue(factory)}.`);
  }
  const reg = registry();
  let perKey = reg.get(cls);
  if (perKey === undefined) reg.set(cls, (perKey = new Map()));
  if (perKey.has(paramKey)) {
    throw new MemhooksError(
      ERROR_CODES.DUPLICATE_REGISTRATION,
      `A PyTorch layout for parameter "${paramKey}" of ${cls.name} is already registered. Remove the earlier ` +
        `registration (its handle's remove()) first.`,
    );
  }
  const own = factory as TorchLayoutFactory<any>;
  perKey.set(paramKey, own);
  return {
    remove(): void {
      if (perKey!.get(paramKey) === own) perKey!.delete(paramKey);
    },
  };
}

/**
 * How `module`'s parameter `paramKey` (its own field name, or a dotted path below `module`) differs from
 * PyTorch's layout; undefined when the layouts are identical. Walks the class chain, so a subclass of
 * Linear converts like Linear.
 */
export function torchLayoutOf(module: Module, paramKey: string): TorchLayout | undefined {
  if (!(module instanceof Module)) {
    throw new InvalidArgumentError(`torchLayoutOf: \`module\` must be a Module, got ${describeValue(module)}.`);
  }
  if (typeof paramKey !== 'string' || paramKey === '') {
    throw new InvalidArgumentError(`torchLayoutOf: \`paramKey\` must be a non-empty string, got ${JSON.stringify(paramKey)}.`);
  }
  const dot = paramKey.lastIndexOf('.');
  const owner = dot < 0 ? module : module.getSubmodule(paramKey.slice(0, dot));
  const key = dot < 0 ? paramKey : paramKey.slice(dot + 1);
  const parameter = (owner as unknown as Record<string, unknown>)[key];
  if (!(parameter instanceof Parameter)) {
    const own = owner.namedParameters({ recurse: false }).map(([k]) => k);
    throw new MemhooksError(
      ERROR_CODES.PARAMETER_NOT_FOUND,
      `Module ${describeModule(owner)} has no parameter "${key}" (asking for its PyTorch layout). ` +
        `Its own parameters are: ${own.length ? own.join(', ') : '(none)'}.`,
    );
  }
  const reg = registry();
  for (let p = Object.getPrototypeOf(owner) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const ctor = Object.hasOwn(p, 'constructor') ? (p as { constructor: Function }).constructor : undefined;
    const factory = ctor === undefined ? undefined : reg.get(ctor)?.get(key);
    if (factory !== undefined) return factory(owner, parameter);
  }
  return undefined;
}

/**
 * A layout that differs from PyTorch's by an axis permutation: device = transpose(torch, fromTorchPerm).
 * Both directions check the incoming shape, so a checkpoint tensor of the wrong shape is refused with both
 * shapes named instead of being silently scrambled.
 */
export function permutedLayout(deviceShape: readonly number[], fromTorchPerm: readonly number[], describe: string): TorchLayout {
  const rank = deviceShape.length;
  if (fromTorchPerm.length !== rank || [...fromTorchPerm].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new InvalidArgumentError(
      `permutedLayout: \`fromTorchPerm\` [${fromTorchPerm.join(', ')}] is not a permutation of the ${rank} axes of ${formatShape(deviceShape)}.`,
    );
  }
  const toTorchPerm = new Array<number>(rank);
  fromTorchPerm.forEach((p, i) => (toTorchPerm[p] = i));
  const torchShape = toTorchPerm.map((p) => deviceShape[p]!);
  const convert = (t: HostTensor, expected: readonly number[], perm: readonly number[], side: string): HostTensor => {
    checkHostTensor(t, expected, side, describe);
    return permuteHost(t.data, t.shape, perm);
  };
  return {
    describe,
    toTorch: (t) => convert(t, deviceShape, toTorchPerm, 'device'),
    fromTorch: (t) => convert(t, torchShape, fromTorchPerm, 'PyTorch'),
  };
}

function checkHostTensor(t: HostTensor, expected: readonly number[], side: string, describe: string): void {
  const ok =
    t !== null &&
    typeof t === 'object' &&
    t.data instanceof Float32Array &&
    Array.isArray(t.shape) &&
    t.shape.length === expected.length &&
    t.shape.every((d, i) => d === expected[i]) &&
    t.data.length === expected.reduce((a, b) => a * b, 1);
  if (!ok) {
    const got = t?.shape !== undefined && Array.isArray(t.shape) ? formatShape(t.shape) : describeValue(t);
    throw new MemhooksError(
      ERROR_CODES.SHAPE_MISMATCH,
      `Layout conversion ${describe}: expected a Float32Array of ${side} shape ${formatShape(expected)}, got ${got}` +
        `${t?.data instanceof Float32Array ? ` (${t.data.length} values)` : ''}. Check that the checkpoint matches the module's sizes.`,
    );
  }
}
