import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { container, type DependencyContainer } from '../runtime/di.js';
import type { Module } from './Module.js';
import { setConstructorArgs, setModuleOptions, type ModuleOptions } from './reflection.js';

type ModuleClass = abstract new (...args: any[]) => Module;

/** Names this copy of memhooks registered, per container: a name registered twice by one copy is a clash. */
const registered = new WeakMap<DependencyContainer, Set<string>>();

function registeredHere(target: DependencyContainer): Set<string> {
  let names = registered.get(target);
  if (names === undefined) registered.set(target, (names = new Set()));
  return names;
}

/** The container token under which a module class is registered. */
export function moduleToken(name: string): string {
  return `memhooks:module:${name}`;
}

/**
 * Class decorator for modules: registers the class by name in the container (so that a saved config can
 * name it), records its class-level options, and records the arguments each instance is constructed with.
 *
 * @example
 * ＠module({ noSplit: true })
 * class Block extends Module { constructor(readonly dim: number) { super(); ... } }
 */
function moduleDecorator(options: ModuleOptions = {}, target: DependencyContainer = container) {
  return function <C extends ModuleClass>(cls: C): C {
    // The subclass records args after super() returns, so the outermost decorated class wins.
    // Cast to a concrete constructor: the decorated class itself implements forward.
    const Recorded = class extends (cls as unknown as new (...args: any[]) => { forward(...args: any[]): any }) {
      constructor(...args: any[]) {
        super(...args);
        setConstructorArgs(this, args);
      }
    } as unknown as C;
    Object.defineProperty(Recorded, 'name', { value: cls.name });
    setModuleOptions(Recorded, options);
    const name = options.name ?? cls.name;
    const token = moduleToken(name);
    if (registeredHere(target).has(name)) {
      throw new MemhooksError(
        ERROR_CODES.DUPLICATE_REGISTRATION,
        `A module class named "${name}" is already registered. Give one of them another name with @module({ name }).`,
      );
    }
    registeredHere(target).add(name);
    // Another copy of memhooks in the process (its ESM or CJS build) registers the same built-in classes in
    // the shared container: the first copy's class stays registered, and both copies keep working.
    if (!target.isRegistered(token, false)) target.register(token, { useValue: Recorded });
    return Recorded;
  };
}

// Exported under its DESIGN.md name; `module` cannot be a top-level binding in the CommonJS build.
export { moduleDecorator as module };
