import { assertModule } from '../../models/assertModule.js';
import { BYTES_PER_ELEMENT, STORAGE_DTYPES, type StorageDtype } from '../../models/dtypes.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { InvalidArgumentError } from '../../base/errors.js';

export interface ModuleSizeOptions {
  /**
   * Count floating-point weights at this storage dtype when it is smaller than theirs (accelerate's
   * `dtype`): the size after layerwise casting or a low-precision load. int32 weights keep their size.
   */
  dtype?: StorageDtype;
}

/**
 * Bytes per module path ('' is the whole model) and per parameter path, as accelerate's
 * compute_module_sizes: a module's size is that of every parameter below it, each counted once (a tied
 * parameter counts in every module that uses it, since each needs it to run).
 *
 * @example computeModuleSizes(model).get('blocks.0') // bytes of blocks.0 and everything under it
 */
export function computeModuleSizes(module: Module, options: ModuleSizeOptions = {}): Map<string, number> {
  assertModule(module, 'computeModuleSizes');
  const { dtype } = options;
  if (dtype !== undefined && !(STORAGE_DTYPES as readonly string[]).includes(dtype)) {
    throw new InvalidArgumentError(`computeModuleSizes: dtype ${JSON.stringify(dtype)} is not one of ${STORAGE_DTYPES.join(', ')}.`);
  }
  const bytesOf = (p: Parameter) =>
    dtype === undefined || p.dtype !== 'float32' ? p.byteLength : Math.min(p.byteLength, p.size * BYTES_PER_ELEMENT[dtype]);
  const sizes = new Map<string, number>();
  const visit = (m: Module, path: string, counted: Set<Parameter>[]): void => {
    const here = new Set<Parameter>();
    sizes.set(path, 0); // the module's entry before its members', in tree order
    for (const [key, p] of m.namedParameters({ recurse: false })) {
      sizes.set(path === '' ? key : `${path}.${key}`, bytesOf(p));
      // Add to this module and every ancestor that has not counted this parameter yet.
      for (const set of [...counted, here]) set.add(p);
    }
    const sets = [...counted, here];
    for (const [key, child] of m.namedChildren()) visit(child, path === '' ? key : `${path}.${key}`, sets);
    sizes.set(path, [...here].reduce((a, p) => a + bytesOf(p), 0));
  };
  module.namedModules(); // names the tree by its canonical paths first
  visit(module, '', []);
  return sizes;
}
