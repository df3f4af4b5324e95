import { Module, type Member } from '../Module.js';
import type { Parameter } from '../Parameter.js';

/**
 * A contiguous run of a wrapped GraphModel's ops that one scope module executes. The graph adapter builds it;
 * a scope's forward only runs it, so the module's hooks wrap exactly those ops.
 */
export interface GraphSegment {
  /** Executes the ops and returns the tensors they produced that are still alive (kept by the hook scopes). */
  run(): unknown;
}

/**
 * Why a wrapped GraphModel runs hooks only around its whole execution: its graph has nodes whose order tfjs decides
 * while it runs. wrapGraphModel sets the same object on every scope module of such a graph (see docs/wrapping.md).
 */
export interface GraphControlFlow {
  /** The nodes that decide the order at run time (control flow, dynamic-shape ops, TensorLists, function calls), in graph order. */
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly op: string }>;
  /** The graph's functions (While/If bodies), by name. */
  readonly functions: readonly string[];
  /** What still works on such a model, as a user calls it (`cpuOffloadWithHook(root)`, …). */
  readonly strategies: readonly string[];
}

/**
 * The module of one name scope of a tfjs GraphModel (`MobilenetV2/expanded_conv_3/depthwise`). Its parameters are
 * the graph weights (Const nodes) the scope owns, keyed by the weight's name inside the scope; its children are the
 * scopes nested in it. Its forward runs one contiguous segment of the graph's ops: the executor calls it once per
 * segment, so a scope whose ops are interleaved with other scopes' ops runs its hooks once per segment.
 */
export class GraphScope extends Module {
  /** The full TensorFlow name scope (`MobilenetV2/expanded_conv_3`); '' for the root. */
  readonly scope: string;
  /** The graph ops that read this scope's weights (`Conv2D`, `MatMul`, `_FusedConv2D`, …), for strategies that pick leaves by kind. */
  readonly weightOps: ReadonlySet<string>;
  /**
   * Set when the graph has control flow or dynamic ops (the nodes, and what still works): then only the root's
   * hooks run, around the executor's own whole execution, and every other scope refuses hooks. Undefined otherwise.
   */
  readonly controlFlow: GraphControlFlow | undefined;
  private readonly params: Array<[string, Parameter]> = [];
  private readonly childScopes: Array<[string, GraphScope]> = [];

  constructor(scope: string, weightOps: ReadonlySet<string> = new Set(), controlFlow?: GraphControlFlow) {
    super();
    this.scope = scope;
    this.weightOps = weightOps;
    this.controlFlow = controlFlow;
  }

  forward(segment: GraphSegment): any {
    return segment.run();
  }

  /** @internal Used while building the tree. */
  addParameter(key: string, p: Parameter): void {
    this.params.push([key, p]);
  }

  /** @internal Used while building the tree. */
  addChild(name: string, child: GraphScope): void {
    this.childScopes.push([name, child]);
  }

  protected override ownMembers(): Array<[string, Member]> {
    return [...this.params, ...this.childScopes];
  }
}

/**
 * The root of a wrapped GraphModel. `model.execute(inputs, outputs?)` and `model.executeAsync(inputs, outputs?)`
 * (and `predict`, which calls `execute` with the model's output names) enter this module's hook chain once,
 * with the caller's own arguments: a tensor, a tensor array or a NamedTensorMap, and the requested outputs. A
 * hook here can therefore replace them (tiling runs the graph once per tile through `next(tile)`, batch slicing
 * once per slice), and the innermost forward runs one execution of the graph on what it is given, the scopes'
 * segments inside it. Called directly, `forward(inputs, outputs?)` is `model.execute(inputs, outputs?)`.
 */
export class GraphModelScope extends GraphScope {
  /**
   * @param body One execution of the model (its own `execute`) on the arguments that reach the innermost forward;
   *   the adapter runs the scopes' segments inside it.
   */
  constructor(weightOps: ReadonlySet<string>, private readonly body: (args: unknown[]) => unknown) {
    super('', weightOps);
  }

  /** `root.forward(inputs, outputs?)` is `model.execute(inputs, outputs?)`, inside the root's hooks. */
  override forward(...args: unknown[]): any {
    return this.body(args);
  }
}

/** Graph ops whose weights layerwise casting may store in low precision (convolutions, matrix products, embeddings). */
export const CASTABLE_GRAPH_OPS: ReadonlySet<string> = new Set([
  'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DBackpropInput', 'DepthwiseConv2d', 'DepthwiseConv2dNative', 'MatMul', 'BatchMatMul',
  'BatchMatMulV2', 'Einsum', '_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul', 'GatherV2', 'Gather', 'ResourceGather',
]);

/** A scope module that owns weights read only by castable ops, and no child scopes: a leaf as Conv2d / Linear are. */
export function isGraphLeaf(m: Module): m is GraphScope {
  return m instanceof GraphScope && m.namedChildren().length === 0 && m.namedParameters({ recurse: false }).length > 0;
}
