import 'reflect-metadata';

/** Class-level facts a model author declares with @module (diffusers' _no_split_modules and friends). */
export interface ModuleOptions {
  /** Never split this module across devices when inferring a device map. */
  noSplit?: boolean;
  /** Set to false to refuse group offloading for this model (diffusers' _supports_group_offloading). */
  supportsGroupOffloading?: boolean;
  /** Module-path patterns (regular expressions) that layerwise casting leaves in full precision. */
  skipLayerwiseCasting?: ReadonlyArray<string | RegExp>;
  /** Names of modules whose parameters always stay float32. */
  keepInFp32?: readonly string[];
  /**
   * Submodule paths that group offloading treats as blocks at block level though they are not
   * ModuleList/Sequential children, e.g. a VAE's ['encoder', 'decoder'] (diffusers' _group_offload_block_modules).
   */
  groupOffloadBlockModules?: readonly string[];
  /** Registry name; defaults to the class name. */
  name?: string;
}

const OPTIONS_KEY = 'memhooks:module';
const CONFIG = Symbol.for('memhooks.constructorArgs');

export function setModuleOptions(target: Function, options: ModuleOptions): void {
  Reflect.defineMetadata(OPTIONS_KEY, Object.freeze({ ...options }), target);
}

/** Options declared by the class or its nearest decorated ancestor; {} when none. */
export function getModuleOptions(target: Function | object): Readonly<ModuleOptions> {
  const ctor = typeof target === 'function' ? target : target.constructor;
  return (Reflect.getMetadata(OPTIONS_KEY, ctor) as ModuleOptions | undefined) ?? {};
}

/** @internal Records the arguments an instance was constructed with (diffusers' register_to_config). */
export function setConstructorArgs(instance: object, args: readonly unknown[]): void {
  Object.defineProperty(instance, CONFIG, { value: Object.freeze([...args]), enumerable: false, configurable: true });
}

/** The arguments a @module instance was constructed with; undefined for undecorated classes. */
export function getConstructorArgs(instance: object): readonly unknown[] | undefined {
  return (instance as Record<symbol, readonly unknown[] | undefined>)[CONFIG];
}
