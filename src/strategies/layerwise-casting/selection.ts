import { Conv2d } from '../../models/layers/Conv2d.js';
import { ConvTranspose2d } from '../../models/layers/ConvTranspose2d.js';
import { Embedding } from '../../models/layers/Embedding.js';
import { Linear } from '../../models/layers/Linear.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { getModuleOptions } from '../../models/reflection.js';
import { CASTABLE_GRAPH_OPS, isGraphLeaf } from '../../models/wrapped/GraphScope.js';
import { WrappedLayer } from '../../models/wrapped/WrappedModules.js';
import { compilePatterns, type LayerwiseCastingConfig } from './options.js';

/** The leaves whose weights are cast: diffusers' list (convolutions, Linear, Embedding) in memhooks' layers. */
const SUPPORTED_LEAVES: ReadonlyArray<abstract new (...args: any[]) => Module> = [Linear, Conv2d, ConvTranspose2d, Embedding];

/**
 * The same kinds among wrapped tfjs layers, by their tfjs class. Normalisation layers (BatchNormalization,
 * LayerNormalization) are left out as norms are in diffusers: few weights, precision-sensitive, and tfjs
 * layer names rarely contain "norm" for the default pattern to catch them.
 */
export const CASTABLE_TFJS_LAYERS: ReadonlySet<string> = new Set([
  'Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose', 'DepthwiseConv2D', 'SeparableConv2D', 'Embedding',
]);

export function isCastableLeaf(m: Module): boolean {
  if (m instanceof WrappedLayer) return CASTABLE_TFJS_LAYERS.has(m.layerClassName);
  // A GraphModel scope leaf whose weights feed a convolution or matrix product (its bias comes along, as in Linear).
  if (isGraphLeaf(m)) return [...m.weightOps].some((op) => CASTABLE_GRAPH_OPS.has(op));
  return SUPPORTED_LEAVES.some((cls) => m instanceof cls);
}

export interface CastLeaf {
  path: string;
  module: Module;
  /** float32 weights of the leaf that no float32-only module also reads. */
  params: Parameter[];
}

export interface Selection {
  leaves: CastLeaf[];
  /** Weights of cast leaves that stay float32 because a module left in float32 reads them too (tied weights). */
  sharedWithFloat32: Parameter[];
}

/** Patterns a decorated class declares, matched against paths relative to an instance of it. */
interface Scope {
  prefix: string;
  patterns: RegExp[];
}

/**
 * Depth-first from `root` (path ''), as diffusers' _apply_layerwise_casting: a module whose class is skipped
 * or whose path matches a pattern is skipped with its whole subtree; a supported leaf is cast (its children,
 * if any, come along); anything else is descended into. Patterns of a @module class (skipLayerwiseCasting,
 * keepInFp32) apply below each instance, to paths relative to it.
 */
export function selectLeaves(root: Module, config: LayerwiseCastingConfig): Selection {
  const chosen: CastLeaf[] = [];
  const float32Readers: Module[] = [];
  const seen = new Set<Module>();
  const visit = (m: Module, path: string, scopes: readonly Scope[]): void => {
    if (seen.has(m)) return;
    seen.add(m);
    if (isSkippedClass(m, config.skipClasses) || matches(path, config.patterns, scopes)) {
      float32Readers.push(...m.modules());
      return;
    }
    if (isCastableLeaf(m)) {
      chosen.push({ path, module: m, params: m.parameters().filter((p) => p.dtype === 'float32' && !p.isLowPrecision) });
      return;
    }
    float32Readers.push(m);
    const own = ownPatterns(m);
    const inner = own.length === 0 ? scopes : [...scopes, { prefix: path, patterns: own }];
    for (const [key, child] of m.namedChildren()) visit(child, path === '' ? key : `${path}.${key}`, inner);
  };
  visit(root, '', []);
  // A weight a float32 module also reads (a tied embedding and output projection) must stay readable there.
  const needed = new Set<Parameter>();
  for (const m of float32Readers) for (const p of m.parameters({ recurse: false })) needed.add(p);
  const sharedWithFloat32 = new Set<Parameter>();
  for (const leaf of chosen) {
    for (const p of leaf.params) if (needed.has(p)) sharedWithFloat32.add(p);
    leaf.params = leaf.params.filter((p) => !needed.has(p));
  }
  return { leaves: chosen.filter((l) => l.params.length > 0), sharedWithFloat32: [...sharedWithFloat32] };
}

function ownPatterns(m: Module): RegExp[] {
  const opts = getModuleOptions(m);
  const list = [...(opts.skipLayerwiseCasting ?? []), ...(opts.keepInFp32 ?? [])];
  return list.length === 0 ? [] : compilePatterns(list, `@module metadata of ${m.constructor.name}`);
}

function matches(path: string, patterns: readonly RegExp[], scopes: readonly Scope[]): boolean {
  if (path !== '' && patterns.some((re) => re.test(path))) return true;
  for (const scope of scopes) {
    const rel = scope.prefix === '' ? path : path.startsWith(scope.prefix + '.') ? path.slice(scope.prefix.length + 1) : undefined;
    if (rel !== undefined && rel !== '' && scope.patterns.some((re) => re.test(rel))) return true;
  }
  return false;
}

function isSkippedClass(m: Module, classes: ReadonlyArray<Function | string>): boolean {
  return classes.some((c) =>
    typeof c === 'string' ? m.constructor.name === c || (m instanceof WrappedLayer && m.layerClassName === c) : m instanceof (c as new () => unknown),
  );
}
