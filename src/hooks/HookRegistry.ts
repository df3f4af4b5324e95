import * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, HookAlreadyRegisteredError, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import type { Module } from '../models/Module.js';
import { brandedBase } from '../base/brand.js';
import { assertForwardIsMethod } from '../models/Module.js';
import { describeModule, describeValue, pathOf } from '../models/paths.js';
import { emit } from '../runtime/events.js';
import { checkHookGuard } from './hookGuard.js';
import { ModelHook } from './ModelHook.js';
import { REGISTRY_KEY, type DisposableRegistry } from '../models/keys/registryAccess.js';

/** Returned by registerHook. `remove()` is idempotent and only ever removes the hook it was issued for. */
export interface HookHandle {
  readonly name: string;
  remove(): void;
  [Symbol.dispose](): void;
}

/** @internal One registered hook, with what it overrides read once at registration so that dispatch skips no-ops. */
export interface Entry {
  readonly name: string;
  readonly hook: ModelHook;
  readonly pre: boolean;
  readonly post: boolean;
  readonly replaces: boolean;
  readonly onError: boolean;
}

type Forward = (...args: unknown[]) => unknown;

/**
 * The hooks of one module. Hooks are named, unique per module, and run as an onion: the most recently
 * registered hook is the outermost (its preForward first, its postForward last).
 *
 * Porting note: diffusers splices a chain of closures on removal and loses a `new_forward` when the hook
 * just beneath it is removed. Here dispatch walks an immutable array of entries, so removing any hook
 * (first, middle, last, beneath a newForward hook) is a plain array removal and cannot break the others.
 * The array is replaced, never mutated, so a forward in flight keeps the chain it started with.
 */
export class HookRegistry implements DisposableRegistry {
  readonly module: Module;
  /** @internal The registrations, oldest first (replaced, never mutated). */
  entries: readonly Entry[] = [];
  private original: Forward | undefined;
  private hooked: Forward | undefined;

  private constructor(module: Module) {
    this.module = module;
  }

  /** The module's registry, created and attached on first use. */
  static checkIfExistsOrInitialize(module: Module): HookRegistry {
    if (typeof module?.forward !== 'function') {
      throw new InvalidArgumentError(`Hooks attach to modules (objects with a forward function); got ${describeValue(module)}.`);
    }
    const holder = module as unknown as Record<symbol, HookRegistry | undefined>;
    const existing = holder[REGISTRY_KEY];
    if (existing !== undefined) return existing;
    const registry = new HookRegistry(module);
    Object.defineProperty(module, REGISTRY_KEY, { value: registry, enumerable: false, configurable: true });
    return registry;
  }

  /** The module's registry, or undefined when no hook was ever registered on it. */
  static get(module: Module): HookRegistry | undefined {
    return (module as unknown as Record<symbol, HookRegistry | undefined>)[REGISTRY_KEY];
  }

  /** Names in registration order (the last is the outermost). */
  get hookOrder(): readonly string[] {
    return this.entries.map((e) => e.name);
  }

  getHook(name: string): ModelHook | undefined {
    return this.entries.find((e) => e.name === name)?.hook;
  }

  registerHook(hook: ModelHook, name: string): HookHandle {
    if (!(hook instanceof ModelHook)) {
      throw new MemhooksError(ERROR_CODES.INVALID_HOOK, `registerHook on module ${describeModule(this.module)} needs a ModelHook instance (a subclass of ModelHook), got ${String(hook)}.`);
    }
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(`registerHook on module ${describeModule(this.module)} needs a non-empty hook name.`);
    }
    if (this.getHook(name) !== undefined) throw new HookAlreadyRegisteredError(name, describeModule(this.module));
    // The defaults of the ModelHook this hook extends: ours, or another copy's of memhooks.
    const defaults = (brandedBase(hook, 'ModelHook') ?? ModelHook.prototype) as ModelHook;
    if (hook.stateful && hook.resetState === defaults.resetState) {
      throw new MemhooksError(ERROR_CODES.INVALID_HOOK, `Hook "${name}" (${hook.constructor.name}) is stateful but does not implement resetState(module). Implement it so that resetStatefulHooks can clear its state.`);
    }
    // A module whose forward never runs alone (a scope of a graph run as a whole) refuses, naming why.
    checkHookGuard(this.module, name);
    // Runs first: if it throws, nothing has changed.
    hook.initializeHook(this.module);
    const entry: Entry = {
      name,
      hook,
      pre: hook.preForward !== defaults.preForward,
      post: hook.postForward !== defaults.postForward,
      replaces: typeof hook.newForward === 'function',
      onError: typeof hook.onForwardError === 'function',
    };
    if (this.entries.length === 0) this.installForward();
    this.entries = [...this.entries, entry];
    emit('hook:registered', { name, path: pathOf(this.module) });
    return makeHandle(this, entry);
  }

  /**
   * Removes the hook called `name` from this module (deinitializeHook runs first and may veto by throwing),
   * and with `recurse` from every descendant too. A missing name is not an error. A veto keeps that one
   * hook; every other module still loses its hook, and then the first refusal is thrown, naming how many
   * modules kept theirs.
   */
  removeHook(name: string, options: { recurse?: boolean } = {}): void {
    const { recurse = true } = options;
    const modules = recurse ? this.module.modules() : [this.module];
    const refusals: unknown[] = [];
    for (const m of modules) {
      try {
        HookRegistry.get(m)?.removeLocal(name);
      } catch (error) {
        // By code, not class: the refusal may come from another copy of memhooks' registry.
        if ((error as { code?: unknown } | null)?.code !== ERROR_CODES.HOOK_REMOVAL_REFUSED) throw error;
        refusals.push(error);
      }
    }
    if (refusals.length === 1) throw refusals[0];
    if (refusals.length > 1) {
      throw new MemhooksError(
        ERROR_CODES.HOOK_REMOVAL_REFUSED,
        `Hook "${name}" was removed everywhere under module ${describeModule(this.module)} except on ${refusals.length} modules that refused; the first refusal follows.`,
        { cause: refusals[0] },
      );
    }
  }

  /** Calls resetState on stateful hooks, outermost first, here and (with `recurse`) on every descendant. */
  resetStatefulHooks(options: { recurse?: boolean } = {}): void {
    const { recurse = true } = options;
    const registries = recurse ? this.module.modules().map((m) => HookRegistry.get(m)) : [this];
    for (const registry of registries) {
      if (registry === undefined) continue;
      for (let i = registry.entries.length - 1; i >= 0; i--) {
        const { hook } = registry.entries[i]!;
        if (hook.stateful) hook.resetState(registry.module);
      }
    }
  }

  toString(): string {
    const lines = this.entries.map((e, i) => `  (${i}) ${e.name} - ${e.hook.toString()}`);
    return `HookRegistry(\n${lines.join('\n')}${lines.length ? '\n' : ''})`;
  }

  /** @internal Module.dispose: drops every hook without undoing it; hooks get detachHook. */
  clearForDispose(): void {
    const dropped = this.entries;
    if (dropped.length === 0) return;
    this.entries = [];
    this.restoreForward();
    for (let i = dropped.length - 1; i >= 0; i--) {
      dropped[i]!.hook.detachHook(this.module);
      emit('hook:removed', { name: dropped[i]!.name, path: pathOf(this.module) });
    }
  }

  /** @internal Removes the hook registered as `name` (only that very registration when `only` is given). */
  removeLocal(name: string, only?: object): void {
    const index = this.entries.findIndex((e) => e.name === name && (only === undefined || e === only));
    if (index < 0) return;
    const { hook } = this.entries[index]!;
    try {
      hook.deinitializeHook(this.module);
    } catch (cause) {
      throw new MemhooksError(
        ERROR_CODES.HOOK_REMOVAL_REFUSED,
        `Hook "${name}" (${hook.constructor.name}) refused to be removed from module ${describeModule(this.module)}; it is still registered.`,
        { cause },
      );
    }
    this.entries = this.entries.filter((_, i) => i !== index);
    if (this.entries.length === 0) this.restoreForward();
    emit('hook:removed', { name, path: pathOf(this.module) });
  }

  /** @internal */
  ownsForward(fn: unknown): boolean {
    return fn !== undefined && fn === this.hooked;
  }

  private installForward(): void {
    const module = this.module;
    assertForwardIsMethod(module);
    const original = module.forward as Forward;
    this.original = original;
    const registry = this;
    // One scope around the whole chain: tensors that hooks make and do not return (replaced arguments,
    // replaced outputs, the results of extra next() calls) are released when the call returns or throws. The
    // caller's tensors were made outside it, so they survive even when a hook passes them through. The
    // module's own forward keeps its inner scope, so its intermediates are gone before any postForward runs
    // (a hook that measures or offloads after the forward sees what the forward left, as without hooks).
    const hooked = function (...args: unknown[]): unknown {
      const chain = registry.entries;
      return tf.tidy(() => dispatch(module, chain, chain.length - 1, args, original) as tf.TensorContainer);
    };
    Object.defineProperty(hooked, 'name', { value: original.name, configurable: true });
    Object.defineProperty(hooked, 'length', { value: original.length, configurable: true });
    Object.defineProperty(module, 'forward', { value: hooked, writable: true, configurable: true, enumerable: false });
    this.hooked = hooked;
  }

  private restoreForward(): void {
    if (this.original === undefined) return;
    Object.defineProperty(this.module, 'forward', { value: this.original, writable: true, configurable: true, enumerable: false });
    this.original = undefined;
    this.hooked = undefined;
  }
}

/** Runs entry `i` of the chain around the entries inside it; -1 is the module's own forward. */
function dispatch(module: Module, chain: readonly Entry[], i: number, args: unknown[], original: Forward): unknown {
  if (i < 0) return original.apply(module, args);
  const e = chain[i]!;
  const inner = preForwardOf(e, module, args);
  try {
    const out = e.replaces
      ? e.hook.newForward!(module, inner, (...next: unknown[]) => dispatch(module, chain, i - 1, next, original))
      : dispatch(module, chain, i - 1, inner, original);
    return e.post ? e.hook.postForward(module, out) : out;
  } catch (error) {
    if (e.onError) notifyForwardError(e, module, error);
    throw error;
  }
}

/** @internal The arguments entry `e` passes on: its preForward's, checked to be an array, or `args` unchanged. */
export function preForwardOf(e: Entry, module: Module, args: unknown[]): unknown[] {
  if (!e.pre) return args;
  const inner: unknown = e.hook.preForward(module, args);
  if (!Array.isArray(inner)) {
    throw new MemhooksError(ERROR_CODES.INVALID_HOOK, `preForward of hook "${e.name}" on module ${describeModule(module)} returned ${typeof inner}; it must return the argument array.`);
  }
  return inner;
}

/** @internal A failing onForwardError must not replace the forward's error, which propagates unchanged. */
export function notifyForwardError(e: Entry, module: Module, error: unknown): void {
  try {
    e.hook.onForwardError!(module, error);
  } catch (secondary) {
    console.warn(`memhooks: onForwardError of hook "${e.name}" on module ${describeModule(module)} threw while handling a forward error; the original error propagates.`, secondary);
  }
}

/** A handle removes its own registration only: never a later one of the same name, even with the same hook. */
function makeHandle(registry: HookRegistry, entry: Entry): HookHandle {
  const ref = new WeakRef(registry);
  const remove = (): void => ref.deref()?.removeLocal(entry.name, entry);
  return { name: entry.name, remove, [Symbol.dispose]: remove };
}
