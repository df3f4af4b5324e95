import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import { clearHooksForDispose, REGISTRY_KEY, type DisposableRegistry } from './keys/registryAccess.js';
import { detachStrategiesForDispose } from './keys/appliedAccess.js';
import { formatBytes } from '../base/format.js';
import { brand } from '../base/brand.js';
import { Parameter } from './Parameter.js';
import { fromPretrainedSlot, savePretrainedSlot, type FromPretrainedOptions, type SavePretrainedOptions } from './pretrainedSlot.js';
import type { SavedCheckpoint } from '../io/checkpoints/save.js';
import { describeModule, linkMember, pathOf } from './paths.js';
import { mapInForce } from './keys/mapInForce.js';
import type { Device } from './deviceTypes.js';

export type Member = Module | Parameter;

export interface MemoryFootprint {
  device: number;
  host: number;
  disk: number;
}

/**
 * A node of a model tree, as torch.nn.Module: children and parameters are the module's own fields that
 * hold a Module (ModuleList included) or a Parameter, discovered in declaration order.
 *
 * `forward` is the subclass's code. Each instance runs it inside its own tf.tidy scope, so the
 * intermediates of a module are released when it returns and only its outputs survive. Hooks attach to
 * the instance's `forward` through the HookRegistry.
 */
export abstract class Module {
  constructor() {
    scopeForward(this);
  }

  abstract forward(...args: any[]): any;

  /** Own members in declaration order. ModuleList overrides this to expose its items. */
  protected ownMembers(): Array<[string, Member]> {
    const members: Array<[string, Member]> = [];
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (value instanceof Module || value instanceof Parameter) members.push([key, value]);
      else if (Array.isArray(value) && value.some((v) => v instanceof Module || v instanceof Parameter)) {
        throw new MemhooksError(
          ERROR_CODES.INVALID_MODULE_FIELD,
          `Field "${key}" of module ${describeModule(this)} is a plain array holding modules or parameters, which ` +
            `memhooks cannot see. Wrap the modules in a ModuleList (new ModuleList([...])).`,
        );
      }
    }
    return members;
  }

  /**
   * Own members, each linked to this module as its parent (see linkMember: the first walk names a member,
   * and a walk from the true root re-names what a walk of one of its subtrees named earlier). Only the
   * depth-first walks link (namedModules, namedParameters, lookups by path, the first forward), so a shared
   * member ends up named by its first path in the root's depth-first order.
   */
  private linkedMembers(walkRoot: Module): Array<[string, Member]> {
    const members = this.ownMembers();
    for (const [key, member] of members) linkMember(member, this, key, walkRoot);
    markWalked(this);
    return members;
  }

  namedChildren(): Array<[string, Module]> {
    return this.ownMembers().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, depth-first, each once (a shared module under its first path). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    const visit = (m: Module, path: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([path, m]);
      for (const [key, child] of m.linkedMembers(this)) {
        if (child instanceof Module) visit(child, path === '' ? key : `${path}.${key}`);
      }
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with their paths, each once (a tied parameter under its first path). */
  namedParameters(options: { recurse?: boolean; prefix?: string } = {}): Array<[string, Parameter]> {
    const { recurse = true, prefix = '' } = options;
    const out: Array<[string, Parameter]> = [];
    const seen = new Set<Parameter>();
    const owners: Array<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [path, m] of owners) {
      for (const [key, member] of m.linkedMembers(this)) {
        if (!(member instanceof Parameter) || seen.has(member)) continue;
        seen.add(member);
        out.push([path === '' ? key : `${path}.${key}`, member]);
      }
    }
    return out;
  }

  parameters(options: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  /** The module at a dotted path ('' is this module). */
  getSubmodule(path: string): Module {
    if (typeof path !== 'string') throw new InvalidArgumentError(`getSubmodule(path) needs a string path, got ${typeof path}.`);
    // Walk first, so that what is found is named by its canonical (first, depth-first) path.
    this.namedModules();
    let current: Module = this;
    if (path === '') return current;
    const parts = path.split('.');
    for (let i = 0; i < parts.length; i++) {
      const next = current.namedChildren().find(([key]) => key === parts[i]);
      if (next === undefined) {
        const available = current.namedChildren().map(([k]) => k);
        throw new MemhooksError(
          ERROR_CODES.MODULE_NOT_FOUND,
          `Module ${describeModule(current)} has no child "${parts[i]}" (looking up "${path}" from ` +
            `${describeModule(this)}). Its children are: ${available.length ? available.join(', ') : '(none)'}.`,
        );
      }
      current = next[1];
    }
    return current;
  }

  /** The parameter at a dotted path, e.g. "blocks.0.attn.to_q.weight". */
  getParameter(path: string): Parameter {
    const dot = typeof path === 'string' ? path.lastIndexOf('.') : -1;
    const owner = this.getSubmodule(dot < 0 ? '' : path.slice(0, dot));
    const key = dot < 0 ? path : path.slice(dot + 1);
    const found = owner.linkedMembers(this).find(([k, v]) => k === key && v instanceof Parameter);
    if (found === undefined) {
      const available = owner.namedParameters({ recurse: false }).map(([k]) => k);
      throw new MemhooksError(
        ERROR_CODES.PARAMETER_NOT_FOUND,
        `Module ${describeModule(owner)} has no parameter "${key}" (looking up "${path}"). ` +
          `Its own parameters are: ${available.length ? available.join(', ') : '(none)'}.`,
      );
    }
    return found[1] as Parameter;
  }

  /** Bytes of this module's parameters (each counted once) on each tier, as held there (Parameter.tierByteLength). */
  memoryFootprint(): MemoryFootprint {
    const total: MemoryFootprint = { device: 0, host: 0, disk: 0 };
    for (const p of this.parameters()) total[p.tier] += p.tierByteLength;
    return total;
  }

  /**
   * Drops every hook without running it (hooks get detachHook) and releases every parameter's bytes. The
   * strategies applied in the tree end too: their handles turn `removed`, and remove() does nothing.
   */
  dispose(): void {
    for (const m of this.modules()) {
      detachStrategiesForDispose(m);
      clearHooksForDispose(m);
    }
    for (const p of this.parameters()) p.dispose();
  }

  /**
   * Writes `dir/config.json` (class name + constructor arguments) and the weights as sharded safetensors in
   * PyTorch's layouts (docs/checkpoints.md). The class must be decorated with @module.
   */
  async savePretrained(dir: string, options?: SavePretrainedOptions): Promise<SavedCheckpoint> {
    // The loading floor (above this one) fills the slot when it loads: see pretrainedSlot.ts.
    return savePretrainedSlot()(this, dir, options);
  }

  /**
   * Builds the model saved in `dir` (its class resolved through the @module registry) and loads each weight
   * straight into the tier `deviceMap` gives it (docs/checkpoints.md, docs/device-maps.md). `dir` may be a
   * folder URL, read by HTTP range requests.
   */
  static async fromPretrained<T extends Module>(
    this: abstract new (...args: any[]) => T,
    dir: string | URL,
    options?: FromPretrainedOptions,
  ): Promise<T> {
    return fromPretrainedSlot()<T>(this, dir, options);
  }

  /** The tree: one line per module with its path, class and parameter bytes. */
  toString(): string {
    const lines: string[] = [];
    for (const [path, m] of this.namedModules()) {
      const depth = path === '' ? 0 : path.split('.').length;
      const fp = m.memoryFootprint();
      const bytes = fp.device + fp.host + fp.disk;
      const where = fp.host + fp.disk === 0 ? '' : ` (device ${formatBytes(fp.device)}, host ${formatBytes(fp.host)}, disk ${formatBytes(fp.disk)})`;
      const name = path === '' ? (this.path === '' ? '(root)' : this.path) : path.slice(path.lastIndexOf('.') + 1);
      lines.push(`${'  '.repeat(depth)}${name}: ${m.constructor.name} ${formatBytes(bytes)}${where}`);
    }
    return lines.join('\n');
  }

  /** Dotted path from the root that discovered this module ('' for a root or an undiscovered module). */
  get path(): string {
    return pathOf(this);
  }

  /**
   * The device map in force on this module (dispatchModel, fromPretrained({ deviceMap })), as accelerate's
   * model.hf_device_map: a plain copy with the map's keys, which can be edited and dispatched again.
   * undefined when no map was dispatched on this module, or once its handle was removed.
   */
  get hfDeviceMap(): Record<string, Device> | undefined {
    return mapInForce(this);
  }
}

brand(Module, 'Module');

// Process-global keys: a module built with one copy of memhooks may be walked or hooked by another.
const SCOPED = Symbol.for('memhooks.scopedForward');
const WALKED = Symbol.for('memhooks.walked');
type Flagged = { [SCOPED]?: Function; [WALKED]?: boolean };

/** Sees every module forward in the process while installed (memory.trace of a whole run). */
export interface ForwardObserver {
  enter(m: Module): void;
  exit(m: Module, failed: boolean): void;
}

// Process-global: modules built by either build of memhooks report to the one observer.
const OBSERVER = Symbol.for('memhooks.forwardObserver');
const observerSlot = ((globalThis as Record<symbol, unknown>)[OBSERVER] ??= { current: undefined }) as { current: ForwardObserver | undefined };

/** Installs `observer` (undefined removes it) and returns the one it replaces, to put back afterwards. */
export function setForwardObserver(observer: ForwardObserver | undefined): ForwardObserver | undefined {
  const previous = observerSlot.current;
  observerSlot.current = observer;
  return previous;
}

function markWalked(m: Module): void {
  if ((m as unknown as Flagged)[WALKED] === true) return;
  assertForwardIsMethod(m);
  Object.defineProperty(m, WALKED, { value: true, enumerable: false, configurable: true });
}

/**
 * A forward declared as an arrow-function field replaces the scoped one after the Module constructor ran:
 * it would run without its tidy scope, and hooks would wrap the wrong function. Checked when a tree is
 * walked and when the first hook is registered (a module called directly, never walked nor hooked, cannot
 * be checked). Objects that are not memhooks modules are left alone.
 */
export function assertForwardIsMethod(m: object): void {
  if (!(m instanceof Module)) return;
  // Undefined when the class has no forward method at all (then an own forward is necessarily a field).
  const scoped = (m as Flagged)[SCOPED];
  const own = Object.getOwnPropertyDescriptor(m, 'forward')?.value as unknown;
  if (own === undefined) return;
  const registry = (m as unknown as Record<symbol, DisposableRegistry | undefined>)[REGISTRY_KEY];
  if (own === scoped || registry?.ownsForward(own) === true) return;
  throw new InvalidArgumentError(
    `Module ${describeModule(m)} has its forward as an instance field (an arrow function), which memhooks cannot ` +
      `scope or hook. Declare it as a method: forward(x) { ... }.`,
  );
}

/**
 * Installs the instance's `forward`: the class's forward inside tf.tidy, with the same name and length,
 * so that intermediates are released per module and reflection on `forward` sees the user's function.
 * The first forward of a module whose tree was never walked walks it, so that errors raised inside
 * name every module by its path.
 */
function scopeForward(m: Module): void {
  const impl = m.forward as (...args: unknown[]) => unknown;
  if (typeof impl !== 'function') return;
  if (impl.constructor?.name === 'AsyncFunction') {
    throw new InvalidArgumentError(
      `${m.constructor.name}.forward is async, but tfjs kernels and memhooks hooks are synchronous (a tf.tidy scope ` +
        `cannot span an await). Make forward synchronous and do asynchronous work (loading, reading) before calling it.`,
    );
  }
  const scoped = function (this: unknown, ...args: unknown[]): unknown {
    if ((m as unknown as Flagged)[WALKED] !== true) m.namedParameters();
    const observer = observerSlot.current;
    if (observer === undefined) return tf.tidy(() => impl.apply(m, args) as tf.TensorContainer);
    observer.enter(m);
    let out: unknown;
    try {
      out = tf.tidy(() => impl.apply(m, args) as tf.TensorContainer);
    } catch (error) {
      observer.exit(m, true);
      throw error;
    }
    observer.exit(m, false);
    return out;
  };
  copyFunctionIdentity(scoped, impl);
  Object.defineProperty(m, SCOPED, { value: scoped, enumerable: false });
  Object.defineProperty(m, 'forward', { value: scoped, writable: true, configurable: true, enumerable: false });
}

/** Gives `target` the `name` and `length` of `source`. */
export function copyFunctionIdentity(target: Function, source: Function): void {
  Object.defineProperty(target, 'name', { value: source.name, configurable: true });
  Object.defineProperty(target, 'length', { value: source.length, configurable: true });
}
