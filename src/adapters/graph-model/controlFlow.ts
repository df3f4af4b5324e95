import { markActionable } from '../../base/actionable.js';
import { UnsupportedModelError } from '../../base/errors.js';
import { setHookGuard } from '../../hooks/hookGuard.js';
import type { Module } from '../../models/Module.js';
import { describeModule } from '../../models/paths.js';
import type { GraphControlFlow, GraphScope } from '../../models/wrapped/GraphScope.js';
import { RUNTIME_ORDERED_OPS, type ExecutorGraph } from './executorInternals.js';

/** What still runs on a graph hooked as a whole: strategies whose hooks sit on the module they are applied to. */
export const WHOLE_MODEL_STRATEGIES: readonly string[] = [
  'cpuOffloadWithHook(root) (model offload; a pipeline\'s enableModelCpuOffload())',
  'applyGroupOffloading(root, { offloadType: \'block_level\', numBlocksPerGroup: 1 }) without blockModules (a graph has no ModuleList: the whole model is one group)',
  'hooks of your own on the root module (preForward/postForward)',
];

/**
 * The nodes of a graph whose execution order tfjs decides while it runs (RUNTIME_ORDERED_OPS), and its functions;
 * undefined when it has none, so that scope hooks can bracket every op.
 */
export function findControlFlow(graph: ExecutorGraph): GraphControlFlow | undefined {
  const nodes = Object.values(graph.nodes).filter((n) => RUNTIME_ORDERED_OPS.has(n.op)).map((n) => ({ name: n.name, op: n.op }));
  const functions = Object.keys(graph.functions ?? {});
  if (nodes.length === 0 && functions.length === 0) return undefined;
  return { nodes, functions, strategies: WHOLE_MODEL_STRATEGIES };
}

/** `"a" (Enter), "b" (Merge), … (37 nodes)`: the first few, and how many in all. */
export function describeControlFlow(flow: GraphControlFlow): string {
  const shown = flow.nodes.slice(0, 5).map((n) => `"${n.name}" (${n.op})`);
  const more = flow.nodes.length > shown.length ? `, … (${flow.nodes.length} nodes)` : ` (${flow.nodes.length} node(s))`;
  const fns = flow.functions.length === 0 ? '' : `; graph functions ${flow.functions.slice(0, 5).map((f) => `"${f}"`).join(', ')}`;
  return `${shown.join(', ')}${shown.length > 0 ? more : 'no node'}${fns}`;
}

/**
 * Makes every scope module but the root refuse hooks: tfjs runs such a graph as a whole (asynchronously, in an
 * order it decides as it goes), so a scope's hooks could never bracket its ops. The refusal names the nodes and
 * what still works; inside applyStrategy it leads the STRATEGY_APPLY_FAILED message. Returns the undo.
 */
export function guardScopes(root: GraphScope, flow: GraphControlFlow): () => void {
  const scopes = root.modules().filter((m) => m !== root);
  const guardOf = (m: Module) => (hookName: string): void => {
    const reason =
      `this GraphModel has control flow or dynamic ops, whose order tfjs decides while it runs (${describeControlFlow(flow)}), ` +
      `so memhooks runs only its root module's hooks, around the whole execution, and hook "${hookName}" cannot go on its ` +
      `scope module ${describeModule(m)}. Strategies that hook scopes (group offloading, sequential offload, layerwise ` +
      `casting, a device map) do not apply to it. What still works on this model: ${flow.strategies.join('; ')}.`;
    throw markActionable(new UnsupportedModelError(`Cannot register a hook inside a GraphModel run as a whole: ${reason}`), reason);
  };
  for (const m of scopes) setHookGuard(m, guardOf(m));
  return () => {
    for (const m of scopes) setHookGuard(m, undefined);
  };
}
