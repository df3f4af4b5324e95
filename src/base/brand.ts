/**
 * Two copies of memhooks can live in one process (an ESM app whose CommonJS dependency also uses memhooks
 * loads both builds). Their classes differ, so plain `instanceof` would not see the other copy's modules,
 * parameters and hooks. The base classes carry a process-global brand instead, and their `instanceof`
 * checks it; subclasses keep ordinary `instanceof`.
 */
export function brand(base: Function, name: string): void {
  const key = Symbol.for(`memhooks.brand.${name}`);
  Object.defineProperty(base.prototype, key, { value: true, enumerable: false });
  Object.defineProperty(base, Symbol.hasInstance, {
    value(this: Function, value: unknown): boolean {
      if (this !== base) return Function.prototype[Symbol.hasInstance].call(this, value);
      return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true;
    },
  });
}

/**
 * The prototype of the branded base class `value` descends from — this copy's or another copy's — so that
 * "does this hook override preForward?" compares against the right defaults.
 */
export function brandedBase(value: object, name: string): object | undefined {
  const key = Symbol.for(`memhooks.brand.${name}`);
  for (let p = Object.getPrototypeOf(value) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.hasOwn(p, key)) return p;
  }
  return undefined;
}
