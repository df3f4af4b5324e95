import { ERROR_CODES, InvalidArgumentError, MemhooksError, StrategyConflictError } from '../base/errors.js';
import { applyFailureLead } from '../base/actionable.js';
import { assertModule } from '../models/assertModule.js';
import { brandedBase } from '../base/brand.js';
import type { Module } from '../models/Module.js';
import { ancestorsOf, describeModule } from '../models/paths.js';
import { container as rootContainer, injectable, type DependencyContainer } from '../runtime/di.js';
import { HookRegistry } from '../hooks/HookRegistry.js';
import { APPLIED_KEY, appliedRecords, type AppliedRecord } from '../models/keys/appliedAccess.js';
import { Strategy, type StrategyHandle, type Undo } from './Strategy.js';
import { holdGpuPoolsEmpty } from '../runtime/gpuPool.js';
import { BUILT_IN_ENTRY_POINTS, type KnownStrategyName, type StrategyOptionsMap } from './StrategyOptionsMap.js';

type StrategyClass = new (...args: any[]) => Strategy<any>;

const NAME = Symbol.for('memhooks.strategyName');
/** Every name ever registered, to list the choices when a name is unknown. */
const knownNames = new Set<string>();
/** Strategy classes this copy of memhooks registered. */
const registeredHere = new WeakSet<Function>();

export function strategyToken(name: string): string {
  return `memhooks:strategy:${name}`;
}

/**
 * Class decorator for strategy plugins: names the strategy and registers it in the container (the root
 * container unless another is given, e.g. a test's child container).
 */
export function strategy(name: string, options: { container?: DependencyContainer } = {}) {
  return function <C extends StrategyClass>(cls: C): C {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_:.-]+$/.test(name)) {
      throw new InvalidArgumentError(`@strategy(name) needs a name of letters, digits, "_", "-", ".", ":"; got ${JSON.stringify(name)} on class ${cls.name}.`);
    }
    Object.defineProperty(cls, NAME, { value: name, enumerable: false });
    injectable()(cls);
    registerStrategy(cls, options.container);
    return cls;
  };
}

/** Registers a @strategy class in a container (the root one by default). A name can be registered once per container. */
export function registerStrategy(cls: StrategyClass, target: DependencyContainer = rootContainer): void {
  const name = (cls as unknown as Record<symbol, string | undefined>)[NAME];
  if (name === undefined) {
    throw new InvalidArgumentError(`registerStrategy(${cls?.name ?? String(cls)}) needs a class decorated with @strategy(name).`);
  }
  if (!(cls.prototype instanceof Strategy)) {
    throw new InvalidArgumentError(`Strategy class ${cls.name} must extend Strategy.`);
  }
  const token = strategyToken(name);
  if (target.isRegistered(token, false)) {
    const existing = target.resolve<Strategy<unknown>>(token);
    // The same strategy from another copy of memhooks (its other build) in one process: keep the first.
    if (existing.constructor.name === cls.name && !registeredHere.has(existing.constructor)) return;
    throw new MemhooksError(ERROR_CODES.DUPLICATE_REGISTRATION, `A strategy named "${name}" is already registered in this container. Pick another name, or register it in a child container (createContainer()).`);
  }
  knownNames.add(name);
  registeredHere.add(cls);
  target.register(token, { useClass: cls });
}

interface Applied extends AppliedRecord {
  handle: StrategyHandle;
}

/** The strategies applied directly to a module, oldest first, if any ever were. */
function appliedSet(module: object): Set<Applied> | undefined {
  return appliedRecords(module) as Set<Applied> | undefined;
}

function appliedOn(module: Module): Set<Applied> {
  let set = appliedSet(module);
  if (set === undefined) {
    set = new Set();
    Object.defineProperty(module, APPLIED_KEY, { value: set, enumerable: false });
  }
  return set;
}

/**
 * Strategies applied to this module, its descendants, or its known ancestors: the only ones whose covered
 * modules can meet this module's tree, since every strategy covers only modules under where it is applied.
 */
function appliedAround(module: Module): Array<{ applied: Applied; at: Module }> {
  const found: Array<{ applied: Applied; at: Module }> = [];
  const visit = (m: Module): void => {
    for (const applied of appliedSet(m) ?? []) found.push({ applied, at: m });
  };
  for (const m of module.modules()) visit(m);
  for (const ancestor of ancestorsOf(module)) visit(ancestor as Module);
  return found;
}

/** The names of the strategies applied directly to this module, oldest first. */
export function appliedStrategies(module: Module): string[] {
  return [...(appliedSet(module) ?? [])].map((a) => a.name);
}

/** The options applyStrategy takes for `N`: declared in StrategyOptionsMap, else `unknown`. */
export type StrategyOptions<N extends string> = N extends KnownStrategyName ? StrategyOptionsMap[N] : unknown;

/** The name as the user wrote the call: the built-in's public function, or applyStrategy for a plugin. */
function entryPointFor(name: string): string {
  return Object.hasOwn(BUILT_IN_ENTRY_POINTS, name) ? BUILT_IN_ENTRY_POINTS[name]! : `applyStrategy(module, ${JSON.stringify(name)}, …)`;
}

/**
 * Applies the strategy registered under `name` to `module`. Everything is checked first (the module, the
 * name, the strategy's own validation, then the conflicts between what it covers and what the strategies
 * already applied cover). If `apply` itself then fails, every hook it had registered in the tree is
 * removed again (their deinitializeHook undoes their initializeHook) before the error is thrown, so a
 * failing strategy leaves no hooks behind; state a strategy changed outside hooks is its own to restore.
 *
 * Options are typed by name: a name declared in StrategyOptionsMap (the built-ins, and plugins that add
 * theirs by declaration merging) takes exactly its options; any other name takes `unknown`, or the type
 * given explicitly (`applyStrategy<MyOptions>(module, name, options)`).
 */
export function applyStrategy<N extends KnownStrategyName>(
  module: Module,
  name: N,
  options: StrategyOptionsMap[N],
  config?: { container?: DependencyContainer },
): StrategyHandle;
export function applyStrategy<O = unknown, N extends string = string>(
  module: Module,
  // A declared name would escape the check of its options above: refuse it here (never).
  name: N extends KnownStrategyName ? never : N,
  options: O,
  config?: { container?: DependencyContainer },
): StrategyHandle;
export function applyStrategy(
  module: Module,
  name: string,
  options: unknown,
  config: { container?: DependencyContainer } = {},
): StrategyHandle {
  assertModule(module, entryPointFor(name));
  const target = config.container ?? rootContainer;
  const token = strategyToken(name);
  if (!target.isRegistered(token, true)) {
    const known = [...knownNames].filter((n) => target.isRegistered(strategyToken(n), true)).sort();
    throw new MemhooksError(ERROR_CODES.UNKNOWN_STRATEGY, `No strategy named "${name}" is registered. Registered strategies: ${known.length ? known.join(', ') : '(none)'}. Decorate your class with @strategy("${name}") or call registerStrategy().`);
  }
  const instance = target.resolve<Strategy<unknown>>(token);
  // A strategy covering its whole tree is judged before its options (an "already applied" error says more
  // than an option error); one that computes its coverage from the options needs them validated first.
  const coverageFromOptions = overridesCovers(instance);
  if (coverageFromOptions) instance.validate(module, options);
  const covered = coveredBy(instance, module, options, name);
  assertNoConflict(instance, name, module, covered);
  if (!coverageFromOptions) instance.validate(module, options);
  const before = hooksIn(module);
  // Offloading promises fewer device bytes: on the GPU backends, what it frees must leave tfjs' texture or
  // buffer pool too, from before apply() moves the first weight until the last offloading strategy is removed.
  const releasePool = instance.freesDeviceMemory ? holdGpuPoolsEmpty() : undefined;
  let undo: Undo;
  try {
    undo = instance.apply(module, options);
  } catch (cause) {
    releasePool?.();
    const { removed, kept } = rollBackHooks(module, before);
    const left = kept.length === 0 ? '' : ` ${kept.length} refused removal and stay registered: ${kept.join(', ')}.`;
    throw new MemhooksError(
      ERROR_CODES.STRATEGY_APPLY_FAILED,
      // The reason a user can act on (a full disk, a budget) comes first; the roll-back facts follow.
      `${applyFailureLead(name, describeModule(module), cause)}${removed} hook(s) it had registered were removed again.${left}`,
      { cause },
    );
  }
  if (instance.replaceable) dropSuperseded(module, name);
  return record(module, name, instance.conflictsWith, covered, releasePool === undefined ? undo : releasingAfter(undo, releasePool));
}

/** The undo, then `release` once the strategy is really gone (a remove() that throws keeps it applied). */
function releasingAfter(undo: Undo, release: () => void): Undo {
  return {
    remove() {
      undo.remove();
      release();
    },
    detach() {
      try {
        undo.detach?.();
      } finally {
        release();
      }
    },
    get superseded() {
      return undo.superseded;
    },
  };
}

/** After a setting is applied again: the earlier applications it took over completely drop out of the records. */
function dropSuperseded(module: Module, name: string): void {
  for (const { applied } of appliedAround(module)) if (applied.name === name && applied.handle.removed) applied.handle.remove();
}

/** True when the strategy's class replaces Strategy's default covers() (this copy's base or another's). */
function overridesCovers(instance: Strategy<unknown>): boolean {
  const base = brandedBase(instance, 'Strategy') as Strategy<unknown> | undefined;
  return base === undefined || instance.covers !== base.covers;
}

/** The modules the application covers (Strategy.covers), checked to lie in `module`'s tree. */
function coveredBy(instance: Strategy<unknown>, module: Module, options: unknown, name: string): Set<Module> {
  const covered = instance.covers(module, options);
  const tree = new Set(module.modules());
  const outside = Array.isArray(covered) ? covered.filter((m) => !tree.has(m)) : [];
  if (!Array.isArray(covered) || outside.length > 0) {
    throw new InvalidArgumentError(
      `Strategy "${name}".covers() must return an array of modules in the tree of ${describeModule(module)}, got ` +
        `${Array.isArray(covered) ? `${outside.length} module(s) outside it` : String(covered)}. Fix the plugin's covers().`,
    );
  }
  return new Set(covered);
}

/** Refuses the application when a strategy it conflicts with (either way) covers one of the same modules. */
function assertNoConflict(instance: Strategy<unknown>, name: string, module: Module, covered: Set<Module>): void {
  for (const { applied, at } of appliedAround(module)) {
    // A setting applied again replaces the earlier application (its apply takes over), never clashes with it.
    if (applied.name === name && instance.replaceable) continue;
    const clash = applied.name === name || instance.conflictsWith.includes(applied.name) || applied.conflictsWith.includes(name);
    const shared = clash ? [...covered].find((m) => applied.covered.has(m)) : undefined;
    if (shared === undefined) continue;
    const where = at === module ? `module ${describeModule(module)}` : `module ${describeModule(at)}, which overlaps ${describeModule(module)}`;
    const both = shared === module || shared === at ? '' : ` Both cover module ${describeModule(shared)}.`;
    throw new StrategyConflictError(
      applied.name === name
        ? `Strategy "${name}" is already applied to ${where}.${both} Remove it first (handle.remove()) before applying it again.`
        : `Strategy "${name}" conflicts with strategy "${applied.name}", which is applied to ${where}.${both} Remove "${applied.name}" first, or apply "${name}" to modules it does not cover.`,
    );
  }
}

/** Records the application on its module and returns its handle. */
function record(module: Module, name: string, conflictsWith: readonly string[], covered: Set<Module>, undo: Undo): StrategyHandle {
  const set = appliedOn(module);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    // A superseded setting has nothing left to undo: its remove() only drops the record.
    if (undo.superseded !== true) undo.remove();
    removed = true;
    set.delete(applied);
  };
  const handle: StrategyHandle = {
    name,
    module,
    get removed() {
      return removed || undo.superseded === true;
    },
    remove,
    [Symbol.dispose]: remove,
  };
  const detach = (): void => {
    if (removed) return;
    removed = true;
    set.delete(applied);
    try {
      undo.detach?.();
    } catch (err) {
      // Dispose must release the whole tree; a plugin's failing clean-up is reported, not allowed to stop it.
      console.warn(`memhooks: strategy "${name}" failed to detach from ${describeModule(module)} while it was disposed:`, err);
    }
  };
  const applied: Applied = { name, conflictsWith, covered, handle, detach };
  set.add(applied);
  return handle;
}

/**
 * Removes every strategy applied to `root` or any module under it, the most recently applied first on each
 * module (their handles become removed). unwrapLayersModel calls it before taking the tree apart.
 */
export function removeStrategiesIn(root: Module): void {
  for (const m of root.modules().reverse()) {
    for (const applied of [...(appliedSet(m) ?? [])].reverse()) applied.handle.remove();
  }
}

/** Every hook registration in the tree, by identity. */
function hooksIn(root: Module): Set<object> {
  const seen = new Set<object>();
  for (const m of root.modules()) for (const entry of HookRegistry.get(m)?.entries ?? []) seen.add(entry);
  return seen;
}

/** Removes, newest first, every hook registered in the tree since `before`; says which could not be. */
function rollBackHooks(root: Module, before: Set<object>): { removed: number; kept: string[] } {
  let removed = 0;
  const kept: string[] = [];
  for (const m of root.modules()) {
    const registry = HookRegistry.get(m);
    if (registry === undefined) continue;
    for (const entry of [...registry.entries].reverse()) {
      if (before.has(entry)) continue;
      try {
        registry.removeLocal(entry.name, entry);
        removed++;
      } catch {
        // A hook that refuses removal stays; it is named in the error, whose cause is the apply failure.
        kept.push(`"${entry.name}" on ${describeModule(m)}`);
      }
    }
  }
  return { removed, kept };
}
