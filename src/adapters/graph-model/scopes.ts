import type * as tf from '@tensorflow/tfjs-core';
import { parseNodeName, type ExecutorGraph, type GraphNode } from './executorInternals.js';

/**
 * Which module each weight and each op of a GraphModel belongs to, from the graph's TensorFlow name scopes,
 * computed before anything is patched.
 *
 * - A weight (a float32 Const of the weight map) starts in its own scope: `a/b/conv/kernel` → scope `a/b/conv`.
 * - An op that reads weights runs in the module that owns them. A fused op (`a/b/conv_relu/Relu6` reading
 *   `a/b/conv/kernel`) thereby runs under `a/b/conv`'s hooks, which onload its weights. An op reading weights of
 *   two scopes runs in their closest common scope, and those weights move up to it, so that the hooks of the
 *   module an op runs in always cover the weights it reads.
 * - An op reading no weight runs in the closest enclosing scope that has a module.
 *
 * Identity-like ops that only pass a weight on (`Identity`, `StopGradient`, `Snapshot`) count as the weight:
 * tfjs hands kept tensors through them without copying, so their readers must run while the weight is resident.
 */
export interface ScopePlan {
  /** Every module scope ('' is the root), parents before children. */
  scopes: string[];
  /** Weight (Const node) name → the scope of the module that holds its Parameter. */
  weightScope: Map<string, string>;
  /** Op name → the scope of the module it runs in. */
  nodeScope: Map<string, string>;
  /** Scope → the ops that read its weights (op types), for strategies that pick leaves by kind. */
  weightOps: Map<string, Set<string>>;
  /**
   * Scopes that get no module of their own: no weight, no op, one child scope (the wrapper scopes converters add,
   * `StatefulPartitionedCall/sequential/keras_layer/…`). Their child takes their place, so paths read like layers.
   */
  elided: Set<string>;
}

const PASS_THROUGH_OPS: ReadonlySet<string> = new Set(['Identity', 'StopGradient', 'Snapshot']);

export function scopeOf(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}

export function commonScope(a: string, b: string): string {
  if (a === b) return a;
  const pa = a === '' ? [] : a.split('/');
  const pb = b === '' ? [] : b.split('/');
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return pa.slice(0, n).join('/');
}

/** The weights of the weight map that become Parameters: float32 Consts (shape and index constants stay as they are). */
export function parameterWeights(weightMap: Record<string, tf.Tensor[]>): string[] {
  return Object.keys(weightMap).filter((name) => {
    const t = weightMap[name]?.[0];
    return weightMap[name]!.length === 1 && t !== undefined && t.dtype === 'float32';
  });
}

export function planScopes(graph: ExecutorGraph, weights: readonly string[], flat: boolean): ScopePlan {
  const weightSet = new Set(weights);
  const weightScope = new Map<string, string>(weights.map((w) => [w, flat ? '' : scopeOf(w)]));
  const ops = Object.values(graph.nodes).filter((n) => !weightSet.has(n.name) && n.op !== 'Const');

  // The weights each op reads, directly or through pass-through ops.
  const readsMemo = new Map<string, string[]>();
  const reads = (node: GraphNode): string[] => {
    const memo = readsMemo.get(node.name);
    if (memo !== undefined) return memo;
    readsMemo.set(node.name, []);
    const out = new Set<string>();
    for (const input of node.inputNames) {
      const [src] = parseNodeName(input);
      if (weightSet.has(src)) out.add(src);
      const srcNode = graph.nodes[src];
      if (srcNode !== undefined && PASS_THROUGH_OPS.has(srcNode.op)) for (const w of reads(srcNode)) out.add(w);
    }
    const list = [...out];
    readsMemo.set(node.name, list);
    return list;
  };

  // An op runs in the common scope of its weights; a weight moves up to the common scope of its readers. Both
  // only ever move towards the root, so this settles.
  const nodeScope = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of ops) {
      const ws = reads(node);
      if (ws.length === 0) continue;
      const scope = ws.map((w) => weightScope.get(w)!).reduce(commonScope);
      if (nodeScope.get(node.name) !== scope) {
        nodeScope.set(node.name, scope);
        changed = true;
      }
      for (const w of ws) {
        const moved = commonScope(weightScope.get(w)!, scope);
        if (moved !== weightScope.get(w)) {
          weightScope.set(w, moved);
          changed = true;
        }
      }
    }
  }

  const scopeSet = new Set<string>(['']);
  for (const s of weightScope.values()) {
    const parts = s === '' ? [] : s.split('/');
    for (let i = 1; i <= parts.length; i++) scopeSet.add(parts.slice(0, i).join('/'));
  }
  for (const node of ops) {
    if (nodeScope.has(node.name)) continue;
    let s = flat ? '' : scopeOf(node.name);
    while (!scopeSet.has(s)) s = scopeOf(s);
    nodeScope.set(node.name, s);
  }

  const weightOps = new Map<string, Set<string>>();
  for (const node of ops) {
    if (PASS_THROUGH_OPS.has(node.op) || reads(node).length === 0) continue;
    const s = nodeScope.get(node.name)!;
    if (!weightOps.has(s)) weightOps.set(s, new Set());
    weightOps.get(s)!.add(node.op);
  }
  // Children in the order their first op appears in the graph (a converter writes nodes in topological order).
  const first = new Map<string, number>();
  ops.forEach((node, i) => {
    for (let s = nodeScope.get(node.name)!; ; s = scopeOf(s)) {
      if (!first.has(s)) first.set(s, i);
      if (s === '') break;
    }
  });
  const rank = (s: string): number => first.get(s) ?? Number.MAX_SAFE_INTEGER;
  const scopes = [...scopeSet].sort((a, b) => depth(a) - depth(b) || rank(a) - rank(b) || (a < b ? -1 : 1));
  const children = new Map<string, number>();
  for (const sc of scopes) if (sc !== '') children.set(scopeOf(sc), (children.get(scopeOf(sc)) ?? 0) + 1);
  const owners = new Set([...weightScope.values(), ...nodeScope.values()]);
  const elided = new Set(scopes.filter((sc) => sc !== '' && !owners.has(sc) && children.get(sc) === 1));
  return { scopes, weightScope, nodeScope, weightOps, elided };
}

function depth(scope: string): number {
  return scope === '' ? 0 : scope.split('/').length;
}
