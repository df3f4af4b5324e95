import type { TfjsLayersModel } from '../../models/wrapped/TfjsLayersModel.js';
import { UnsupportedModelError } from '../../base/errors.js';
import { detachTree } from '../detachTree.js';
import type { Module } from '../../models/Module.js';
import { Parameter } from '../../models/Parameter.js';
import { describeValue } from '../../models/paths.js';
import { defineOwn, interceptVariable, methodDescriptor, type Restore } from './patching.js';
import { moduleName, planModel, type ContainerPlan, type NodePlan } from './plan.js';
import { isGraphModelLike, isLayersModelLike, type CallFn, type LayerLike, type LayerVariableLike, type LayersModelLike } from '../../models/wrapped/tfjsShapes.js';
import { ENTRY_POINTS, namedSubclass, WrappedContainer, WrappedLayer, WrappedModel, type EntryPoint } from '../../models/wrapped/WrappedModules.js';

export interface WrapLayersModelOptions {
  /**
   * classNames of custom layers with weights that read every weight through `LayerVariable.read()` in
   * their `call` (as the built-in layers do). Without this, such a layer is refused with an UnsupportedLayerError.
   */
  trustLayers?: readonly string[];
}

/** Everything one wrap changed, so that unwrap can undo it exactly. */
interface WrapState {
  root: WrappedModel;
  parameters: Parameter[];
  restores: Restore[];
  layers: LayerLike[];
}

const states = new WeakMap<object, WrapState>();
/** Every layer (and sub-model) of a wrapped model → the name of the model that wrapped it. */
const owners = new WeakMap<object, string>();

/**
 * Mirrors a tfjs LayersModel (tf.loadLayersModel, tf.sequential, tf.model) as a memhooks Module tree so
 * that hooks and strategies apply to a model you did not write:
 *
 * - one leaf (WrappedLayer) per computing layer, named by the layer name ('.' → '_'), in `model.layers`
 *   order; nested models become WrappedContainers holding their layers;
 * - every weight becomes one Parameter that adopts the layer's own tf.Variable (no copy, so device memory
 *   does not grow), and each layer reads its weights through that Parameter at call time;
 * - `model.predict`, `predictOnBatch`, `execute` and `apply` keep their results bit for bit, and run the
 *   hooks registered on any module of the tree.
 *
 * Wrapping the same model again returns the same tree. `unwrapLayersModel(model)` undoes everything.
 *
 * @example
 * const model = await tf.loadLayersModel('file://model/model.json');
 * const root = wrapLayersModel(model);
 * console.log(root.toString());
 * HookRegistry.checkIfExistsOrInitialize(root.getSubmodule('conv1')).registerHook(new MyHook(), 'mine');
 * model.predict(x);   // MyHook runs around conv1
 */
export function wrapLayersModel(model: TfjsLayersModel, options: WrapLayersModelOptions = {}): WrappedModel {
  assertLayersModel(model);
  const existing = states.get(model);
  if (existing !== undefined) return existing.root;
  const m = model as unknown as LayersModelLike;
  const plan = planModel(m, {
    trustLayers: new Set(options.trustLayers ?? []),
    ownerOf: (layer) => owners.get(layer),
  });
  // Everything below only builds and patches; validation is over, so nothing here refuses the model.
  const state: WrapState = { root: undefined as unknown as WrappedModel, parameters: [], restores: [], layers: [] };
  const root = build(plan, m, state);
  state.root = root;
  patchEntryPoints(root, m, state);
  // Linking the tree names every parameter by its path ("conv1.kernel") in errors.
  root.namedParameters();
  states.set(model, state);
  for (const layer of state.layers) owners.set(layer, m.name);
  return root;
}

/** The tree of a wrapped model, or undefined when the model is not wrapped. */
export function getWrappedModule(model: TfjsLayersModel): WrappedModel | undefined {
  return states.get(model)?.root;
}

/**
 * Undoes wrapLayersModel: first removes every strategy applied to the tree or any module in it, through the
 * strategy's own undo (most recently applied first; their handles report `removed` and a later
 * `handle.remove()` does nothing), then every hook left on the tree (each hook's deinitializeHook runs,
 * outermost first), brings host parameters back to the device, and deletes every own property memhooks put
 * on the model, its layers and its LayerVariables, leaving `lv.val` a plain property that holds the current
 * tf.Variable (the very same object when the weight never left the device). The old tree's parameters are
 * released (they read as disposed), so it cannot touch the model's weights any more. Unwrapping a model
 * that is not wrapped does nothing. If a hook refuses to be removed (its deinitializeHook throws), unwrap
 * throws that HOOK_REMOVAL_REFUSED error and the model stays wrapped, less the hooks already removed;
 * likewise when a strategy's undo throws, less the strategies already removed.
 */
export function unwrapLayersModel(model: TfjsLayersModel): void {
  const state = states.get(model);
  if (state === undefined) return;
  detachTree(state.root, state.parameters);
  for (let i = state.restores.length - 1; i >= 0; i--) state.restores[i]!();
  // The variables belong to the model again: the old tree must not be able to dispose them.
  for (const p of state.parameters) p.release();
  states.delete(model);
  for (const layer of state.layers) owners.delete(layer);
}

function assertLayersModel(model: unknown): asserts model is LayersModelLike {
  if (isLayersModelLike(model)) return;
  const supported =
    'wrapLayersModel() supports tfjs-layers models: a LayersModel from tf.loadLayersModel(), tf.sequential() or tf.model().';
  if (isGraphModelLike(model)) {
    throw new UnsupportedModelError(
      `wrapLayersModel() got a GraphModel (from tf.loadGraphModel), which runs a graph of ops with no layers to hook. ` +
        `${supported} To use a GraphModel with memhooks, write a Module by hand whose forward runs the ops and ` +
        `whose weights are Parameters (see docs/wrapping.md).`,
    );
  }
  const what = typeof model === 'object' && model !== null ? `${describeValue(model)} without layers/predict/execute` : describeValue(model);
  throw new UnsupportedModelError(`wrapLayersModel() got ${what}. ${supported} Pass the model object itself (for example the result of await tf.loadLayersModel(url)).`);
}

function build(rootPlan: ContainerPlan, model: LayersModelLike, state: WrapState): WrappedModel {
  const modules = new Map<NodePlan, Module>();
  const params = new Map<LayerVariableLike, Parameter>();

  const parameterFor = (lv: LayerVariableLike, label: string): Parameter => {
    let p = params.get(lv);
    if (p === undefined) {
      p = new Parameter(lv.val, { label });
      params.set(lv, p);
      state.parameters.push(p);
      state.restores.push(interceptVariable(lv, p));
    }
    return p;
  };

  const visit = (plan: NodePlan, name: string): Module => {
    const done = modules.get(plan);
    if (done !== undefined) return done;
    const layer = plan.layer;
    const originalCall = layer.call as CallFn;
    let module: WrappedLayer | WrappedContainer;
    if (plan.kind === 'leaf') {
      const entries = plan.weights.map(([key, lv]) => [key, parameterFor(lv, `${name}.${key}`)] as const);
      module = new (namedSubclass(WrappedLayer, plan.className))(layer, plan.className, originalCall, entries);
    } else if (plan === rootPlan) {
      module = new (namedSubclass(WrappedModel, plan.className))(model as unknown as TfjsLayersModel, plan.className, originalCall);
    } else {
      module = new (namedSubclass(WrappedContainer, plan.className))(layer, plan.className, originalCall);
    }
    modules.set(plan, module);
    state.layers.push(layer);
    if (plan.kind === 'container') {
      for (const [childName, child] of plan.children) (module as WrappedContainer).addChild(childName, visit(child, childName));
    }
    // The root's call is patched with the other entry points.
    if (plan !== rootPlan) state.restores.push(patchCall(layer, module));
    return module;
  };
  return visit(rootPlan, moduleName(model.name)) as WrappedModel;
}

/** Every execution of the layer (Layer.apply, a parent graph, a wrapper) now runs the module's hooks. */
function patchCall(layer: LayerLike, module: Module): Restore {
  const original = layer.call as Function;
  const call = function call(inputs: unknown, kwargs?: unknown): unknown {
    return module.forward(inputs, kwargs);
  };
  return defineOwn(layer, { call: methodDescriptor(call, original) });
}

/**
 * predict / predictOnBatch / execute / call each enter the root's hook chain once with the method's own
 * original as the innermost function. They never call each other (predict runs the graph executor, and
 * model.apply reaches call through Layer.apply), so the root hooks run exactly once per user call.
 */
function patchEntryPoints(root: WrappedModel, model: LayersModelLike, state: WrapState): void {
  const props: Record<string, PropertyDescriptor> = {};
  for (const name of ENTRY_POINTS) {
    const original = (model as unknown as Record<EntryPoint, (...args: unknown[]) => unknown>)[name];
    const entry = function (...args: unknown[]): unknown {
      return root.runEntry(name, original, normalizeArgs(name, args));
    };
    props[name] = methodDescriptor(entry, original);
  }
  state.restores.push(defineOwn(model, props));
}

/** Hooks see the entry point's formal arguments: predict `[x, config]` (config defaults to {}), others as given. */
function normalizeArgs(name: EntryPoint, args: unknown[]): unknown[] {
  if (name === 'predict') return [args[0], args[1] ?? {}];
  return args;
}
