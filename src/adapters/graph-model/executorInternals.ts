import type * as tf from '@tensorflow/tfjs-core';

/**
 * Everything memhooks reads or replaces inside tfjs-converter's GraphModel and GraphExecutor lives in this file,
 * because none of it is public API: the executor's weight map, its graph of nodes, its compile step (the ordered
 * node list) and its own execute. These are the shapes of tfjs-converter 4.22.0, the exact version pinned in
 * devDependencies; test/adapters/graph-model/pinnedConverter.test.ts fails when another version is installed,
 * so a tfjs upgrade is a deliberate step that rechecks this file.
 */
export const PINNED_CONVERTER_VERSION = '4.22.0';

/** A node of the executor's graph (operations/types.d.ts `Node`), the members memhooks reads. */
export interface GraphNode {
  readonly name: string;
  readonly op: string;
  readonly category: string;
  /** `producer` or `producer:index` (`^producer` for a control input). */
  readonly inputNames: readonly string[];
  readonly inputs: readonly GraphNode[];
  readonly children: readonly GraphNode[];
}

export interface ExecutorGraph {
  readonly nodes: Record<string, GraphNode>;
  readonly weights: readonly GraphNode[];
  readonly inputs: readonly GraphNode[];
  readonly outputs: readonly GraphNode[];
  readonly functions?: Record<string, unknown>;
}

type TensorsMap = Record<string, tf.Tensor[]>;
type ExecuteFn = (inputs: tf.NamedTensorMap, outputs: string[]) => tf.Tensor[];
type ExecuteAsyncFn = (inputs: tf.NamedTensorMap, outputs: string[]) => Promise<tf.Tensor[]>;

/** tfjs-converter's GraphExecutor: the members memhooks reads, calls or replaces on the instance. */
export interface GraphExecutorLike {
  readonly graph: ExecutorGraph;
  weightMap: TensorsMap;
  execute: ExecuteFn;
  executeAsync: ExecuteAsyncFn;
  readonly outputNodes: string[];
  compile(inputs: tf.NamedTensorMap, outputs: readonly GraphNode[]): { orderedNodes: GraphNode[] };
  mapInputs(inputs: tf.NamedTensorMap): tf.NamedTensorMap;
  mapOutputs(outputs: string[]): string[];
}

/** tfjs-converter's GraphModel, by shape (the adapter checks the object at run time). */
export interface GraphModelLike {
  readonly modelVersion?: string;
  readonly executor?: GraphExecutorLike;
  readonly artifacts?: { format?: string };
  execute: (...args: unknown[]) => unknown;
  executeAsync: (...args: unknown[]) => Promise<unknown>;
  predict: (...args: unknown[]) => unknown;
}

/** One weight of the manifest a GraphModel was loaded from (tf.io WeightsManifestEntry), the members memhooks reads. */
export interface LoadedWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** How the shipped bytes store it when that differs from `dtype`: tfjs dequantized it at load. */
  readonly quantization?: { readonly dtype: string; readonly min?: number; readonly scale?: number };
}

/**
 * What a loaded GraphModel keeps of the artifacts it was loaded from (its private `artifacts`): the manifest's
 * weight specs and the shipped weight bytes, in manifest order (one ArrayBuffer, or shards that
 * tf.io.CompositeArrayBuffer joins). Undefined when the model kept no weight bytes (a model loaded from a weight
 * stream keeps none).
 */
export function loadedWeightArtifacts(model: object): { specs: readonly LoadedWeightSpec[]; data: ArrayBuffer | ArrayBuffer[] } | undefined {
  const artifacts = (model as unknown as { artifacts?: { weightSpecs?: LoadedWeightSpec[]; weightData?: ArrayBuffer | ArrayBuffer[] } }).artifacts;
  const specs = artifacts?.weightSpecs;
  const data = artifacts?.weightData;
  if (!Array.isArray(specs) || data === undefined || data === null) return undefined;
  return { specs, data };
}

/** The executor of a loaded GraphModel; undefined before `load()` (or for objects that are not one). */
export function executorOf(model: GraphModelLike): GraphExecutorLike | undefined {
  const ex = (model as { executor?: GraphExecutorLike }).executor;
  if (ex === undefined || ex === null || typeof ex.execute !== 'function' || typeof ex.compile !== 'function') return undefined;
  const graph = (ex as { graph?: ExecutorGraph }).graph;
  if (graph === undefined || graph === null || typeof graph.nodes !== 'object') return undefined;
  return ex;
}

/** The weight map as the executor holds it (its private `_weightMap`), without going through our accessor. */
export function rawWeightMap(ex: GraphExecutorLike): TensorsMap {
  return (ex as unknown as { _weightMap: TensorsMap })._weightMap;
}

/**
 * Makes the executor read its weight map through `current` (own accessor on the instance): every execution
 * copies the map at its start, so it then sees the tensors the Parameters hold now, and the executor keeps
 * them (weights are in its "frozen" set) instead of disposing them as intermediates. Returns the undo, which
 * sets the map back through the prototype's setter (so the executor's weight ids match the tensors again).
 */
export function redirectWeightMap(ex: GraphExecutorLike, current: () => TensorsMap): () => void {
  const saved = Object.getOwnPropertyDescriptor(ex, 'weightMap');
  const savedIds = Object.getOwnPropertyDescriptor(ex, 'weightIds');
  Object.defineProperty(ex, 'weightMap', { get: current, set: () => undefined, configurable: true, enumerable: false });
  // executeAsync keeps only the ids in `weightIds` (computed by the setter at load) and disposes every other tensor
  // of its map: a weight uploaded again is a new tensor, so the ids must follow the Parameters too.
  const ids = (): number[] => Object.values(current()).flatMap((ts) => ts.map((t) => t.id));
  Object.defineProperty(ex, 'weightIds', { get: ids, configurable: true, enumerable: false });
  return () => {
    const value = current();
    for (const [key, desc] of [['weightMap', saved], ['weightIds', savedIds]] as const) {
      if (desc === undefined) delete (ex as unknown as Record<string, unknown>)[key];
      else Object.defineProperty(ex, key, desc);
    }
    ex.weightMap = value;
  };
}

/** Every execution entry of the executor, replaced on the instance; returns the undo. */
export function replaceExecute(ex: GraphExecutorLike, execute: ExecuteFn, executeAsync: ExecuteAsyncFn, dispose: () => void): () => void {
  const own = {
    execute: Object.getOwnPropertyDescriptor(ex, 'execute'),
    executeAsync: Object.getOwnPropertyDescriptor(ex, 'executeAsync'),
    dispose: Object.getOwnPropertyDescriptor(ex, 'dispose'),
  };
  Object.defineProperty(ex, 'execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(ex, 'executeAsync', { value: executeAsync, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(ex, 'dispose', { value: dispose, writable: true, configurable: true, enumerable: false });
  return () => {
    for (const [key, desc] of Object.entries(own)) {
      if (desc === undefined) delete (ex as unknown as Record<string, unknown>)[key];
      else Object.defineProperty(ex, key, desc);
    }
  };
}

/** The executor's own (prototype) dispose: disposes every tensor of its weight map (model.dispose() calls it). */
export function originalDispose(ex: GraphExecutorLike): () => void {
  const proto = Object.getPrototypeOf(ex) as { dispose: () => void };
  return () => proto.dispose.call(ex);
}

/** The executor's own (prototype) execute, which runs a set of nodes given their inputs: one segment. */
export function originalExecute(ex: GraphExecutorLike): ExecuteFn {
  const proto = Object.getPrototypeOf(ex) as { execute: ExecuteFn };
  return (inputs, outputs) => proto.execute.call(ex, inputs, outputs);
}

export function originalExecuteAsync(ex: GraphExecutorLike): ExecuteAsyncFn {
  const proto = Object.getPrototypeOf(ex) as { executeAsync: ExecuteAsyncFn };
  return (inputs, outputs) => proto.executeAsync.call(ex, inputs, outputs);
}

/**
 * The nodes an execution runs, in the executor's order, from its own compile step (the same list its execute
 * loop walks). `inputs` and `outputs` are already mapped from signature names to node names.
 */
export function orderedNodes(ex: GraphExecutorLike, inputs: tf.NamedTensorMap, outputs: readonly string[]): GraphNode[] {
  const nodes = ex.graph.nodes;
  let outputNodes = outputs.map((name) => nodes[parseNodeName(name)[0]]!);
  if (outputNodes.length === 0) outputNodes = [...ex.graph.outputs];
  return ex.compile(inputs, outputNodes).orderedNodes;
}

/** `node` → ['node', 0]; `node:2` → ['node', 2] (the converter's own rule); a leading `^` (control input) is dropped. */
export function parseNodeName(name: string): [string, number] {
  const bare = name.startsWith('^') ? name.slice(1) : name;
  const parts = bare.split(':');
  if (parts.length === 1) return [bare, 0];
  return [parts[0]!, Number(parts[parts.length - 1])];
}

/**
 * Ops whose order the executor decides at run time (tfjs-converter's CONTROL_FLOW_OPS and DYNAMIC_SHAPE_OPS), and
 * ops that call graph functions: a segment cannot be cut through them.
 */
export const RUNTIME_ORDERED_OPS: ReadonlySet<string> = new Set([
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'StatelessIf', 'StatelessWhile', 'If', 'if', 'While',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5', 'Where',
  'TensorArrayV3', 'TensorListReserve', 'HashTable', 'HashTableV2', 'PartitionedCall', 'StatefulPartitionedCall',
]);

/**
 * The executor's own checks of an execution's inputs and outputs (names, shapes, dtypes), with tfjs' own errors;
 * `shapes: false` leaves out shapes and dtypes.
 */
export function checkExecution(ex: GraphExecutorLike, inputs: tf.NamedTensorMap, outputs: string[], { shapes = true } = {}): void {
  const checks = ex as unknown as {
    checkInputs(i: tf.NamedTensorMap): void;
    checkInputShapeAndType(i: tf.NamedTensorMap): void;
    checkOutputs(o: string[]): void;
  };
  const mapped = ex.mapInputs(inputs);
  checks.checkInputs(mapped);
  if (shapes) checks.checkInputShapeAndType(mapped);
  checks.checkOutputs(ex.mapOutputs(outputs));
}

/** GraphModel's own steps from a call's arguments to the executor's (graph_model.js `normalizeInputs` / `normalizeOutputs`). */
interface ModelNormalization {
  resourceIdToCapturedInput?: Record<string, tf.Tensor> | null;
  initializer?: unknown;
  normalizeInputs(inputs: unknown): tf.NamedTensorMap;
  normalizeOutputs(outputs: unknown): string[];
}

/**
 * A model-level call's arguments (`model.execute(inputs, outputs?)`: a tensor, a tensor array or a NamedTensorMap,
 * and an output name or names) as the executor receives them, by tfjs' own normalization (which throws tfjs' error
 * on a wrong input count). Undefined while the model's initializer graph (resource tables) has not run: its own
 * first execute runs it, and then feeds its outputs as inputs. Nothing on the model changes.
 */
export function executorArgs(model: GraphModelLike, inputs: unknown, outputs: unknown): [tf.NamedTensorMap, string[]] | undefined {
  const m = model as unknown as ModelNormalization;
  let self: ModelNormalization = m;
  if (m.resourceIdToCapturedInput == null) {
    if (m.initializer != null) return undefined;
    // What the model's first execute sets without an initializer (no captured inputs), on a stand-in.
    self = Object.create(m, { resourceIdToCapturedInput: { value: {} } }) as ModelNormalization;
  }
  const named = inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs) && !isTensorLike(inputs);
  // normalizeInputs fills a NamedTensorMap's resource inputs in place: a copy keeps the caller's map as given.
  return [m.normalizeInputs.call(self, named ? { ...(inputs as tf.NamedTensorMap) } : inputs), m.normalizeOutputs.call(self, outputs)];
}

function isTensorLike(x: object): boolean {
  return typeof (x as { dataSync?: unknown }).dataSync === 'function' && Array.isArray((x as { shape?: unknown }).shape);
}
