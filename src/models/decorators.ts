import { ERROR_CODES, MemhooksError } from '../errors.js';
import { container, type DependencyContainer } from '../runtime/di.js';
import type { Module } from './Module.js';
import { setConstructorArgs, setModuleOptions, type ModuleOptions } from './reflection.js';

type ModuleClass = abstract new (...args: any[]) => Module;

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
    if (target.isRegistered(token, false)) {
      throw new MemhooksError(
        ERROR_CODES.DUPLICATE_REGISTRATION,
        `A module class named "${name}" is already registered. Give one of them another name with @module({ name }).`,
      );
    }
    target.register(token, { useValue: Recorded });
    return Recorded;
  };
}

// Exported under its DESIGN.md name; `module` cannot be a top-level binding in the CommonJS build.
export { moduleDecorator as module };
