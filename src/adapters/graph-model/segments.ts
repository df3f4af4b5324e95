import type { GraphScope } from '../../models/wrapped/GraphScope.js';
import type { Parameter } from '../../models/Parameter.js';
import { parseNodeName, type GraphNode } from './executorInternals.js';

/**
 * How one execution (one set of inputs and outputs) is cut into segments: maximal runs of consecutive ops (in the
 * executor's own order) that run in the same module, nested as the modules are. A module whose ops are not
 * contiguous gets one segment per run, so its hooks run once per run.
 */
export interface Run {
  kind: 'run';
  module: GraphScope;
  nodes: GraphNode[];
  /** Tensors the run reads from earlier runs or the caller (`node` or `node:i`). */
  inputs: string[];
  /** Tensors of the run that later runs or the caller read. */
  outputs: string[];
  /** Parameters the run's ops read (checked resident before it runs). */
  weights: Parameter[];
  /** Tensors no later run reads: disposed once this run is done. */
  freeAfter: string[];
}

export interface Group {
  kind: 'group';
  module: GraphScope;
  items: Item[];
}

export type Item = Run | Group;

export interface Segmentation {
  items: Item[];
  /** The requested outputs, as refs. */
  outputs: string[];
  /** Whether every output is made by a run (not an input or a weight handed straight back). */
  complete: boolean;
  /** Ops that read two outputs of one node made by an earlier run, which the executor cannot be fed. */
  unfeedable: string[];
}

export interface SegmentContext {
  moduleOf: (scope: string) => GraphScope;
  nodeScope: ReadonlyMap<string, string>;
  /** Weight name → its Parameter (float32 weights); other Consts of the map are just skipped. */
  parameterOf: (weight: string) => Parameter | undefined;
  isWeight: (name: string) => boolean;
  /** Scopes without a module of their own (see ScopePlan.elided): their ops-free contents go straight on. */
  isElided: (scope: string) => boolean;
}

export function ref(name: string): string {
  const [node, index] = parseNodeName(name);
  return index === 0 ? node : `${node}:${index}`;
}

/** The scope directly under `scope` on the way to `target`, or undefined when `target` is `scope` itself. */
function childToward(scope: string, target: string): string | undefined {
  if (target === scope) return undefined;
  const rest = scope === '' ? target : target.slice(scope.length + 1);
  const head = rest.split('/')[0]!;
  return scope === '' ? head : `${scope}/${head}`;
}

export function segment(ordered: readonly GraphNode[], inputNames: readonly string[], outputs: readonly string[], ctx: SegmentContext): Segmentation {
  const inputNodes = new Set(inputNames.map((n) => parseNodeName(n)[0]));
  const todo = ordered.filter((n) => !ctx.isWeight(n.name) && !inputNodes.has(n.name));
  const entries = todo.map((node) => ({ node, scope: ctx.nodeScope.get(node.name) ?? '' }));
  const runs: Run[] = [];

  const build = (scope: string, list: typeof entries): Item[] => {
    const items: Item[] = [];
    for (let i = 0; i < list.length; ) {
      const child = childToward(scope, list[i]!.scope);
      let j = i;
      while (j < list.length && childToward(scope, list[j]!.scope) === child) j++;
      const slice = list.slice(i, j);
      if (child === undefined) {
        for (const nodes of splitByFeeds(slice.map((e) => e.node))) {
          const run = makeRun(ctx.moduleOf(scope), nodes, ctx);
          runs.push(run);
          items.push(run);
        }
      } else if (ctx.isElided(child)) {
        items.push(...build(child, slice));
      } else {
        items.push({ kind: 'group', module: ctx.moduleOf(child), items: build(child, slice) });
      }
      i = j;
    }
    return items;
  };
  const items = build('', entries);

  // Which run makes each tensor, and the last run that reads it.
  const producer = new Map<string, number>();
  runs.forEach((run, k) => run.nodes.forEach((n) => producer.set(n.name, k)));
  const lastUse = new Map<string, number>();
  const outputSets = runs.map(() => new Set<string>());
  runs.forEach((run, k) => {
    for (const r of run.inputs) {
      const p = producer.get(parseNodeName(r)[0]);
      if (p !== undefined) outputSets[p]!.add(r);
      lastUse.set(r, k);
    }
  });
  const finalRefs = outputs.map(ref);
  let complete = true;
  for (const r of finalRefs) {
    const p = producer.get(parseNodeName(r)[0]);
    if (p === undefined) complete = false;
    else outputSets[p]!.add(r);
  }
  const keep = new Set(finalRefs);
  const freeAt = runs.map(() => [] as string[]);
  for (const [r, k] of lastUse) {
    if (!keep.has(r) && producer.has(parseNodeName(r)[0])) freeAt[k]!.push(r);
  }
  runs.forEach((run, k) => {
    run.outputs = [...outputSets[k]!];
    run.freeAfter = freeAt[k]!;
  });
  const unfeedable = runs.flatMap((run) => {
    const indices = new Map<string, Set<number>>();
    for (const r of run.inputs) {
      const [node, i] = parseNodeName(r);
      if (!indices.has(node)) indices.set(node, new Set());
      indices.get(node)!.add(i);
    }
    return run.nodes.filter((n) => n.inputNames.some((x) => (indices.get(parseNodeName(x)[0])?.size ?? 0) > 1)).map((n) => n.name);
  });
  return { items, outputs: finalRefs, complete, unfeedable };
}

/**
 * The executor's feed dict holds one list per node name, so one execution can be fed only one output index of
 * each outside node: a run that needs two (`split:0` and `split:1`) is cut where the second is first read. (One
 * op reading two outputs of an outside node cannot be fed; segment() reports it.)
 */
function splitByFeeds(nodes: GraphNode[]): GraphNode[][] {
  const out: GraphNode[][] = [];
  let current: GraphNode[] = [];
  let inside = new Set<string>();
  let fed = new Map<string, number>();
  for (const node of nodes) {
    const wants = node.inputNames.map(parseNodeName).filter(([src]) => !inside.has(src));
    if (wants.some(([src, i]) => fed.has(src) && fed.get(src) !== i)) {
      if (current.length > 0) out.push(current);
      current = [];
      inside = new Set();
      fed = new Map();
    }
    current.push(node);
    inside.add(node.name);
    for (const [src, i] of wants) fed.set(src, i);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function makeRun(module: GraphScope, nodes: GraphNode[], ctx: SegmentContext): Run {
  const inside = new Set(nodes.map((n) => n.name));
  const inputs = new Set<string>();
  const weights = new Set<Parameter>();
  for (const node of nodes) {
    for (const input of node.inputNames) {
      const [src] = parseNodeName(input);
      if (inside.has(src)) continue;
      if (ctx.isWeight(src)) {
        const p = ctx.parameterOf(src);
        if (p !== undefined) weights.add(p);
        continue;
      }
      inputs.add(ref(input));
    }
  }
  return { kind: 'run', module, nodes, inputs: [...inputs], outputs: [], weights: [...weights], freeAfter: [] };
}
