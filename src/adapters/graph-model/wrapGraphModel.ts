import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, UnsupportedModelError } from '../../base/errors.js';
import { Parameter } from '../../models/Parameter.js';
import { describeValue } from '../../models/paths.js';
import { GraphModelScope, GraphScope } from '../../models/wrapped/GraphScope.js';
import type { TfjsGraphModel } from '../../models/wrapped/TfjsGraphModel.js';
import { isLayersModelLike } from '../../models/wrapped/tfjsShapes.js';
import { detachTree } from '../detachTree.js';
import {
  checkExecution,
  executorOf,
  originalDispose,
  originalExecuteAsync,
  rawWeightMap,
  redirectWeightMap,
  replaceExecute,
  type GraphExecutorLike,
  type GraphModelLike,
} from './executorInternals.js';
import { findControlFlow, guardScopes } from './controlFlow.js';
import { patchEntryPoints, rootBody } from './entryPoints.js';
import { GraphRunner, hasHooks } from './runner.js';
import { readWrapOptions, shippedCodesOf, type WrapGraphModelOptions } from './shippedWeights.js';
import type { ShippedCodes } from '../../models/parameter/shipped.js';
import { parameterWeights, planScopes } from './scopes.js';
import { WholeGraphRunner } from './wholeGraphRunner.js';

/** Everything one wrap changed, so that unwrap can undo it exactly. */
interface WrapState {
  root: GraphScope;
  parameters: Parameter[];
  /** Parameters whose weight was not a kept tensor before wrapping (a Parameter keeps the tensors it holds). */
  unkept: Set<Parameter>;
  restores: Array<() => void>;
}

const states = new WeakMap<object, WrapState>();

/**
 * Mirrors a tfjs GraphModel (tf.loadGraphModel) as a memhooks Module tree, so that hooks and strategies apply to
 * a graph of ops you did not write:
 *
 * - every float32 weight of the graph (its Const nodes: the executor's weight map) becomes one Parameter that
 *   adopts the executor's own tensor (no copy, so device memory does not grow);
 * - modules follow the graph's name scopes (`MobilenetV2/expanded_conv_3/depthwise/...` → modules `MobilenetV2`
 *   → `expanded_conv_3` → `depthwise`); a module exists for each scope that owns weights, and for the scopes
 *   above it;
 * - `model.predict`, `model.execute` and `model.executeAsync` keep their results bit for bit, and run each scope
 *   module's hooks around that scope's ops (see docs/wrapping.md for scopes whose ops are not contiguous);
 * - the root (a GraphModelScope) takes the model's own arguments: its hooks run once per call with the caller's
 *   inputs and outputs, so tiling and batch slicing on it run the graph once per tile or slice.
 *
 * Graphs with control flow or dynamic ops (`Switch`/`Merge`/`Enter`/`LoopCond`, `While`/`If`, NonMaxSuppression,
 * `Where`, TensorLists, graph functions) have their order decided while they run: they are wrapped too, but run as a
 * whole. Only the root's hooks run, around the executor's own execution (`executeAsync` included), so whole-model
 * strategies work (model offload: `cpuOffloadWithHook(root)`); every other scope refuses hooks, naming those nodes,
 * and `root.controlFlow` lists them. `unwrapGraphModel(model)` undoes everything.
 *
 * Options (unknown keys and values are refused, nothing changed):
 * - `hostWeights: 'shipped'`: weights the model's manifest ships quantized (uint8, uint16 or float16: most
 *   converted models) keep their shipped codes as their host copy, a quarter or a half of the float32 bytes,
 *   read back from the loaded model (no download). The device still gets float32 values, decoded as tfjs
 *   decoded them at load (on the transfer worker with `useStream`), so results stay bitwise; wrapping checks once
 *   that each weight's codes decode to its tensor and refuses, naming the weight, if not. While on the device
 *   such a weight keeps its codes on the host (so offloading it is a dispose). Default `'float32'`.
 *
 * @example
 * const model = await tf.loadGraphModel(url);
 * const root = wrapGraphModel(model);
 * applyGroupOffloading(root, { offloadType: 'leaf_level' });
 * const y = model.execute(x);
 */
export function wrapGraphModel(model: TfjsGraphModel, options?: WrapGraphModelOptions): GraphScope {
  const { hostWeights } = readWrapOptions(options);
  const executor = assertGraphModel(model);
  const weightMap = rawWeightMap(executor);
  const weights = parameterWeights(weightMap);
  const plan = planScopes(executor.graph, weights, false);
  const controlFlow = findControlFlow(executor.graph);
  const shipped = hostWeights === 'shipped' ? shippedCodesOf(model, weightMap, weights) : new Map<string, ShippedCodes>();
  // Validation is over: everything below only builds and patches.
  const state: WrapState = { root: undefined as unknown as GraphScope, parameters: [], unkept: new Set(), restores: [] };
  const modules = new Map<string, GraphScope>();
  const taken = new Map<GraphScope, Set<string>>();
  for (const scope of plan.scopes) {
    if (plan.elided.has(scope)) continue;
    const weightOps = plan.weightOps.get(scope) ?? new Set<string>();
    // The root takes the model's own arguments (it runs the model), unless the graph runs as a whole.
    const m = scope === '' && controlFlow === undefined
      ? new GraphModelScope(weightOps, rootBody(model as unknown as GraphModelLike, (fn) => runner.inRoot(fn)))
      : new GraphScope(scope, weightOps, controlFlow);
    modules.set(scope, m);
    taken.set(m, new Set());
    if (scope === '') continue;
    const parent = modules.get(parentScope(scope, modules))!;
    parent.addChild(uniqueName(memberName(childName(scope)), taken.get(parent)!), m);
  }
  const root = modules.get('')!;
  state.root = root;
  const params = new Map<string, Parameter>();
  const original = new Map<string, tf.Tensor>();
  for (const w of weights) {
    const tensor = weightMap[w]![0]!;
    const wasKept = tensor.kept;
    const scope = plan.weightScope.get(w)!;
    const owner = modules.get(scope)!;
    const key = uniqueName(memberName(scope === '' ? w : w.slice(scope.length + 1)), taken.get(owner)!);
    const codes = shipped.get(w);
    const p = new Parameter(tensor, codes === undefined ? { label: w } : { label: w, shipped: codes });
    if (!wasKept) state.unkept.add(p);
    params.set(w, p);
    original.set(w, tensor);
    state.parameters.push(p);
    owner.addParameter(key, p);
  }

  // A graph run as a whole: its executions read views of the weights while they are pending (WholeGraphRunner).
  const whole = controlFlow === undefined ? undefined : new WholeGraphRunner(executor, root, weightMap, params);
  // The executor reads its weights through the Parameters: after an offload and onload it sees the new tensor.
  state.restores.push(
    redirectWeightMap(executor, () => {
      if (whole?.leased !== undefined) return whole.leased;
      const out: Record<string, tf.Tensor[]> = {};
      for (const [name, tensors] of Object.entries(weightMap)) {
        const p = params.get(name);
        out[name] = p === undefined ? tensors : [(p.isDisposed ? undefined : p.peek()) ?? original.get(name)!];
      }
      return out;
    }),
  );
  const all = root.modules();
  const runner = new GraphRunner(executor, root, {
    moduleOf: (scope) => modules.get(scope)!,
    nodeScope: plan.nodeScope,
    parameterOf: (w) => params.get(w),
    isWeight: (name) => name in weightMap,
    isElided: (scope) => plan.elided.has(scope),
  }, all);
  const ownAsync = originalExecuteAsync(executor);
  const execute = (inputs: tf.NamedTensorMap, outputs: string[]): tf.Tensor[] => {
    if (whole !== undefined) return whole.run(inputs, outputs);
    // tfjs' own checks before any hook runs, so wrong inputs leave the model (and its weights' tiers) unchanged.
    if (all.some(hasHooks)) checkExecution(executor, inputs, outputs);
    return runner.run(inputs, outputs);
  };
  const executeAsync = async (inputs: tf.NamedTensorMap, outputs: string[]): Promise<tf.Tensor[]> => {
    if (whole !== undefined) return whole.runAsync(inputs, outputs);
    if (!all.some(hasHooks)) return ownAsync(inputs, outputs);
    // Without control flow, an asynchronous execution runs the same ops in the same order as a synchronous one.
    return execute(inputs, outputs);
  };
  const ownDispose = originalDispose(executor);
  // model.dispose() while wrapped ends the tree as Module.dispose() does (hooks dropped, strategies ended, every
  // weight released through its Parameter, host and disk copies included), then the executor's own, and unwraps.
  const dispose = (): void => {
    root.dispose();
    ownDispose();
    for (let i = state.restores.length - 1; i >= 0; i--) state.restores[i]!();
    states.delete(model);
  };
  state.restores.push(replaceExecute(executor, execute, executeAsync, dispose));
  // model.execute / executeAsync (and predict, which calls execute) enter the root's hooks with their own arguments.
  if (root instanceof GraphModelScope) state.restores.push(patchEntryPoints(model as unknown as GraphModelLike, executor, root, () => all.some(hasHooks)));
  if (controlFlow !== undefined) state.restores.push(guardScopes(root, controlFlow));
  // Linking the tree names every parameter by its path in errors.
  root.namedParameters();
  states.set(model, state);
  return root;
}

/** The tree of a wrapped GraphModel, or undefined when the model is not wrapped. */
export function getWrappedGraphModule(model: TfjsGraphModel): GraphScope | undefined {
  return states.get(model)?.root;
}

/**
 * Undoes wrapGraphModel: removes every strategy applied to the tree (their own undo, most recent first), then every
 * hook left on it, brings the weights back to the device, and gives the executor its weight map and execute back,
 * holding the Parameters' current tensors (the very tensors it had when no weight ever moved). The old tree's
 * Parameters are released. Unwrapping a model that is not wrapped does nothing.
 */
export function unwrapGraphModel(model: TfjsGraphModel): void {
  const state = states.get(model);
  if (state === undefined) return;
  detachTree(state.root, state.parameters);
  for (let i = state.restores.length - 1; i >= 0; i--) state.restores[i]!();
  for (const p of state.parameters) {
    const t = p.release();
    // As loading left it: a kept weight would be handed through Identity ops uncopied, and survive tf.tidy.
    if (t !== undefined && state.unkept.has(p)) t.kept = false;
  }
  states.delete(model);
}

function assertGraphModel(model: unknown): GraphExecutorLike {
  if (isLayersModelLike(model)) {
    throw new UnsupportedModelError(
      `wrapGraphModel() got a LayersModel (from tf.loadLayersModel, tf.sequential or tf.model). Wrap it with ` +
        `wrapLayersModel(model) instead; wrapGraphModel() is for GraphModels from tf.loadGraphModel().`,
    );
  }
  const m = model as GraphModelLike | null;
  const looksGraph = typeof m === 'object' && m !== null && typeof m.executeAsync === 'function' && typeof m.execute === 'function';
  if (!looksGraph) {
    throw new UnsupportedModelError(
      `wrapGraphModel() got ${describeValue(model)}. Pass a GraphModel: the result of await tf.loadGraphModel(url).`,
    );
  }
  const executor = executorOf(m);
  if (executor === undefined) {
    throw new UnsupportedModelError(
      `wrapGraphModel() got a GraphModel that is not loaded yet (it has no graph). Load it first: ` +
        `await model.load(), or use await tf.loadGraphModel(url), which returns a loaded model.`,
    );
  }
  if (states.has(m as object)) {
    throw new InvalidArgumentError(
      `This GraphModel is already wrapped. Use getWrappedGraphModule(model) to get its tree, or call ` +
        `unwrapGraphModel(model) first to wrap it afresh.`,
    );
  }
  return executor;
}

function parentScope(scope: string, modules: ReadonlyMap<string, GraphScope>): string {
  let s = scope;
  do {
    const i = s.lastIndexOf('/');
    s = i < 0 ? '' : s.slice(0, i);
  } while (!modules.has(s));
  return s;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function childName(scope: string): string {
  const i = scope.lastIndexOf('/');
  return i < 0 ? scope : scope.slice(i + 1);
}

/** A member name: '.' is the path separator of module paths, so it becomes '_'. */
function memberName(name: string): string {
  const n = name.replaceAll('.', '_');
  return n === '' ? '_' : n;
}
