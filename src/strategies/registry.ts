import { ERROR_CODES, InvalidArgumentError, MemhooksError, StrategyConflictError } from '../errors.js';
import type { Module } from '../models/Module.js';
import { ancestorsOf, describeModule } from '../models/paths.js';
import { container as rootContainer, injectable, type DependencyContainer } from '../runtime/di.js';
import { HookRegistry } from '../hooks/HookRegistry.js';
import { Strategy, type StrategyHandle, type Undo } from './Strategy.js';

type StrategyClass = new (...args: any[]) => Strategy<any>;

const NAME = Symbol.for('memhooks.strategyName');
const APPLIED = Symbol.for('memhooks.appliedStrategies');
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

interface Applied {
  name: string;
  conflictsWith: readonly string[];
  handle: StrategyHandle;
}

/** The strategies applied directly to a module, if any ever were. */
function appliedMap(module: object): Map<string, Applied> | undefined {
  return (module as Record<symbol, Map<string, Applied> | undefined>)[APPLIED];
}

function appliedOn(module: Module): Map<string, Applied> {
  let map = appliedMap(module);
  if (map === undefined) {
    map = new Map();
    Object.defineProperty(module, APPLIED, { value: map, enumerable: false });
  }
  return map;
}

/** Strategies applied to this module, its descendants, or its known ancestors. */
function appliedAround(module: Module): Array<{ applied: Applied; at: Module }> {
  const found: Array<{ applied: Applied; at: Module }> = [];
  const visit = (m: Module): void => {
    for (const applied of appliedMap(m)?.values() ?? []) found.push({ applied, at: m });
  };
  for (const m of module.modules()) visit(m);
  for (const ancestor of ancestorsOf(module)) visit(ancestor as Module);
  return found;
}

/** The names of the strategies applied directly to this module. */
export function appliedStrategies(module: Module): string[] {
  return [...appliedOn(module).keys()];
}

/**
 * Applies the strategy registered under `name` to `module`. Everything is checked first (the name, the
 * conflicts, the strategy's own validation). If `apply` itself then fails, every hook it had registered
 * in the tree is removed again (their deinitializeHook undoes their initializeHook) before the error is
 * thrown, so a failing strategy leaves no hooks behind; state a strategy changed outside hooks is its own
 * to restore.
 */
export function applyStrategy<O>(
  module: Module,
  name: string,
  options: O,
  config: { container?: DependencyContainer } = {},
): StrategyHandle {
  const target = config.container ?? rootContainer;
  const token = strategyToken(name);
  if (!target.isRegistered(token, true)) {
    const known = [...knownNames].filter((n) => target.isRegistered(strategyToken(n), true)).sort();
    throw new MemhooksError(ERROR_CODES.UNKNOWN_STRATEGY, `No strategy named "${name}" is registered. Registered strategies: ${known.length ? known.join(', ') : '(none)'}. Decorate your class with @strategy("${name}") or call registerStrategy().`);
  }
  const instance = target.resolve<Strategy<O>>(token);
  for (const { applied, at } of appliedAround(module)) {
    const clash = applied.name === name || instance.conflictsWith.includes(applied.name) || applied.conflictsWith.includes(name);
    if (!clash) continue;
    const where = at === module ? `module ${describeModule(module)}` : `module ${describeModule(at)}, which overlaps ${describeModule(module)}`;
    throw new StrategyConflictError(
      applied.name === name
        ? `Strategy "${name}" is already applied to ${where}. Remove it first (handle.remove()) before applying it again.`
        : `Strategy "${name}" conflicts with strategy "${applied.name}", which is applied to ${where}. Remove "${applied.name}" first, or apply "${name}" to modules it does not cover.`,
    );
  }
  instance.validate(module, options);
  const before = hooksIn(module);
  let undo: Undo;
  try {
    undo = instance.apply(module, options);
  } catch (cause) {
    const { removed, kept } = rollBackHooks(module, before);
    const left = kept.length === 0 ? '' : ` ${kept.length} refused removal and stay registered: ${kept.join(', ')}.`;
    throw new MemhooksError(
      ERROR_CODES.STRATEGY_APPLY_FAILED,
      `Strategy "${name}" failed while applying to module ${describeModule(module)}; ${removed} hook(s) it had ` +
        `registered were removed again.${left}`,
      { cause },
    );
  }
  const map = appliedOn(module);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    undo.remove();
    removed = true;
    map.delete(name);
  };
  const handle: StrategyHandle = {
    name,
    module,
    get removed() {
      return removed;
    },
    remove,
    [Symbol.dispose]: remove,
  };
  map.set(name, { name, conflictsWith: instance.conflictsWith, handle });
  return handle;
}

/**
 * Removes every strategy applied to `root` or any module under it, the most recently applied first on each
 * module (their handles become removed). unwrapLayersModel calls it before taking the tree apart.
 */
export function removeStrategiesIn(root: Module): void {
  for (const m of root.modules().reverse()) {
    for (const applied of [...(appliedMap(m)?.values() ?? [])].reverse()) applied.handle.remove();
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
