import { InvalidArgumentError, UnsupportedLayerError, UnsupportedModelError } from '../../base/errors.js';
import { COMPUTE_DTYPES } from '../../models/dtypes.js';
import { INTERCEPTABLE_LAYER_CLASSES } from './allowlist.js';
import {
  classNameOf,
  innerLayersOf,
  isContainerLayer,
  type LayerLike,
  type LayerVariableLike,
  type LayersModelLike,
} from '../../models/wrapped/tfjsShapes.js';

/**
 * The tree a model will be wrapped into, computed and validated before anything is patched, so that a
 * refused model is left exactly as it was.
 */
export interface LeafPlan {
  kind: 'leaf';
  layer: LayerLike;
  className: string;
  /** Parameter key → LayerVariable. */
  weights: Array<[string, LayerVariableLike]>;
}

export interface ContainerPlan {
  kind: 'container';
  layer: LayerLike;
  className: string;
  /** Child name (the layer name, '.' → '_') → plan; a shared layer's plan appears under each container using it. */
  children: Array<[string, NodePlan]>;
}

export type NodePlan = LeafPlan | ContainerPlan;

export interface PlanOptions {
  /** Extra layer classNames the user vouches for (they read weights only through LayerVariable.read()). */
  trustLayers: ReadonlySet<string>;
  /** Layers already wrapped as part of another model: refused. */
  ownerOf: (layer: LayerLike) => string | undefined;
}

export function planModel(model: LayersModelLike, options: PlanOptions): ContainerPlan {
  if ((model.layers ?? []).length === 0) {
    throw new UnsupportedModelError(
      `Model "${model.name}" has no layers yet. Add its layers (and build it) before wrapping: layers added after ` +
        `wrapLayersModel() are not part of the tree.`,
    );
  }
  const seen = new Map<LayerLike, NodePlan>();
  const visit = (layer: LayerLike): NodePlan => {
    const existing = seen.get(layer);
    if (existing !== undefined) return existing;
    const owner = options.ownerOf(layer);
    if (owner !== undefined) {
      throw new InvalidArgumentError(
        `Layer "${layer.name}" (${classNameOf(layer)}) is already wrapped as part of model "${owner}". ` +
          `Wrap only the outermost model, or call unwrapLayersModel() on "${owner}" first.`,
      );
    }
    let plan: NodePlan;
    if (isContainerLayer(layer)) {
      const container: ContainerPlan = { kind: 'container', layer, className: classNameOf(layer), children: [] };
      seen.set(layer, container);
      const names = new Set<string>();
      for (const child of layer.layers!) {
        if (classNameOf(child) === 'InputLayer') continue;
        container.children.push([uniqueName(moduleName(child.name), names), visit(child)]);
      }
      plan = container;
    } else {
      if (layer.built === false) {
        // Its weights do not exist yet: the ones it creates at its first call would bypass the Parameters.
        throw new UnsupportedModelError(
          `Layer "${layer.name}" (${classNameOf(layer)}) is not built yet, so its weights do not exist and could not be ` +
            `put behind Parameters. Build the model first (give the first layer an inputShape, or run one predict), then wrap it.`,
        );
      }
      checkInterceptable(layer, options.trustLayers, layer);
      plan = { kind: 'leaf', layer, className: classNameOf(layer), weights: weightEntries(layer) };
      seen.set(layer, plan);
    }
    return plan;
  };
  return visit(model) as ContainerPlan;
}

/** A module name: the layer name with '.' (the path separator) replaced by '_'. */
export function moduleName(layerName: string): string {
  const name = String(layerName).replaceAll('.', '_');
  return name === '' ? '_' : name;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Keys of a leaf's parameters: each weight's originalName without the `${layer.name}/` scope, so
 * `conv/kernel` → `kernel` and `bi/forward_lstm/kernel` → `forward_lstm/kernel`. '/' stays, '.' becomes '_'.
 */
function weightEntries(layer: LayerLike): Array<[string, LayerVariableLike]> {
  const out: Array<[string, LayerVariableLike]> = [];
  const taken = new Set<string>();
  const seen = new Set<LayerVariableLike>();
  for (const lv of layer.weights) {
    if (seen.has(lv)) continue;
    seen.add(lv);
    checkVariable(layer, lv);
    out.push([uniqueName(weightKey(layer.name, lv), taken), lv]);
  }
  return out;
}

function weightKey(layerName: string, lv: LayerVariableLike): string {
  const full = String(lv.originalName ?? lv.name);
  const scope = `${layerName}/`;
  let key = full;
  if (full.startsWith(scope)) key = full.slice(scope.length);
  else if (full.includes(`/${scope}`)) key = full.slice(full.indexOf(`/${scope}`) + scope.length + 1);
  key = key.replaceAll('.', '_');
  return key === '' ? 'weight' : key;
}

function checkVariable(layer: LayerLike, lv: LayerVariableLike): void {
  const val = lv.val as { isDisposed?: boolean; dtype?: string } | undefined;
  if (val === undefined || val === null || val.isDisposed) {
    throw new InvalidArgumentError(
      `Weight "${lv.name}" of layer "${layer.name}" is disposed, so the model cannot be wrapped. Wrap a live model (reload it).`,
    );
  }
  if (!(COMPUTE_DTYPES as readonly string[]).includes(String(val.dtype))) {
    throw new UnsupportedLayerError(
      `Weight "${lv.name}" of layer "${layer.name}" (${classNameOf(layer)}) has dtype "${val.dtype}"; memhooks parameters ` +
        `hold ${COMPUTE_DTYPES.join(' or ')} values. This layer cannot be wrapped.`,
    );
  }
}

/**
 * Refuses a weighted layer whose class is not known to read its weights through LayerVariable.read():
 * wrapping it could leave weights on the device (or read them while offloaded) without anyone noticing.
 * Wrappers and RNNs are checked through the layers/cells they run.
 */
function checkInterceptable(layer: LayerLike, trusted: ReadonlySet<string>, top: LayerLike): void {
  const cls = classNameOf(layer);
  if (isContainerLayer(layer)) {
    for (const child of layer.layers!) checkInterceptable(child, trusted, top);
    return;
  }
  if (layer.weights.length > 0 && !INTERCEPTABLE_LAYER_CLASSES.has(cls) && !trusted.has(cls)) {
    const where = layer === top ? '' : ` (inside layer "${top.name}" of class ${classNameOf(top)})`;
    throw new UnsupportedLayerError(
      `Layer "${layer.name}" of class ${cls}${where} has weights, and memhooks does not know whether ${cls} reads ` +
        `them only through LayerVariable.read(), so it cannot safely put them behind Parameters. Built-in layers ` +
        `verified to do so: ${[...INTERCEPTABLE_LAYER_CLASSES].join(', ')}. If ${cls} reads every weight with ` +
        `this.<weight>.read() in call(), opt it in: wrapLayersModel(model, { trustLayers: ['${cls}'] }).`,
    );
  }
  for (const inner of innerLayersOf(layer)) checkInterceptable(inner, trusted, top);
}
