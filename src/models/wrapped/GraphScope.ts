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
  private readonly params: Array<[string, Parameter]> = [];
  private readonly childScopes: Array<[string, GraphScope]> = [];

  constructor(scope: string, weightOps: ReadonlySet<string> = new Set()) {
    super();
    this.scope = scope;
    this.weightOps = weightOps;
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

/** Graph ops whose weights layerwise casting may store in low precision (convolutions, matrix products, embeddings). */
export const CASTABLE_GRAPH_OPS: ReadonlySet<string> = new Set([
  'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DBackpropInput', 'DepthwiseConv2d', 'DepthwiseConv2dNative', 'MatMul', 'BatchMatMul',
  'BatchMatMulV2', 'Einsum', '_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedMatMul', 'GatherV2', 'Gather', 'ResourceGather',
]);

/** A scope module that owns weights read only by castable ops, and no child scopes: a leaf as Conv2d / Linear are. */
export function isGraphLeaf(m: Module): m is GraphScope {
  return m instanceof GraphScope && m.namedChildren().length === 0 && m.namedParameters({ recurse: false }).length > 0;
}
