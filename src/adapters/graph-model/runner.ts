import type * as tf from '@tensorflow/tfjs-core';
import { UnsupportedModelError } from '../../base/errors.js';
import { HookRegistry } from '../../hooks/HookRegistry.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import type { GraphModelScope, GraphScope } from '../../models/wrapped/GraphScope.js';
import { originalExecute, orderedNodes, type GraphExecutorLike } from './executorInternals.js';
import { segment, ref, type Item, type Run, type SegmentContext, type Segmentation } from './segments.js';

/**
 * Runs a wrapped GraphModel's executions segment by segment, so that each scope module's hooks run around its own
 * ops: a segment is executed by the executor itself (its own execute, given the tensors the segment reads as
 * inputs and asked for the tensors later segments read), inside the forward of the segment's module and of every
 * module above it. Without any hook in the tree, an execution is the executor's own, unchanged.
 */
export class GraphRunner {
  private readonly plans = new Map<string, Segmentation>();
  /** How many root forwards are running (a hook on the root may call the model again, once per tile). */
  private rootDepth = 0;
  private readonly execute: (inputs: tf.NamedTensorMap, outputs: string[]) => tf.Tensor[];

  constructor(
    private readonly executor: GraphExecutorLike,
    private readonly root: GraphScope,
    private readonly ctx: SegmentContext,
    /** Every module of the tree, to tell whether any hook is registered. */
    private readonly modules: readonly Module[],
  ) {
    this.execute = originalExecute(executor);
  }

  /** One execution, as the executor's execute: `inputs` by node (or signature) name, `outputs` by name. */
  run(inputs: tf.NamedTensorMap, outputs: string[]): tf.Tensor[] {
    if (!this.modules.some(hasHooks)) return this.execute(inputs, outputs);
    if (this.rootDepth > 0) return this.runSegmented(inputs, outputs);
    // The executor called on its own, not through the model's execute or executeAsync: the root's hooks still run
    // once, given the executor's inputs by name (the root's forward runs the model, which comes back here).
    const out = (this.root as GraphModelScope).forward(inputs, outputs) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  }

  /**
   * Runs `fn` (the root's forward: one execution of the model) with the root's hooks already running around it, so
   * that the executions it makes run segment by segment without entering them again.
   */
  inRoot<T>(fn: () => T): T {
    this.rootDepth++;
    try {
      return fn();
    } finally {
      this.rootDepth--;
    }
  }

  private runSegmented(inputs: tf.NamedTensorMap, outputs: string[]): tf.Tensor[] {
    const mapped = this.executor.mapInputs(inputs);
    const mappedOutputs = this.executor.mapOutputs(outputs);
    const plan = this.planFor(mapped, mappedOutputs);
    // An output that is an input or a weight handed back unchanged: the executor's own run gives it.
    if (!plan.complete) return this.execute(inputs, outputs);
    if (plan.unfeedable.length > 0) {
      throw new UnsupportedModelError(
        `A wrapped GraphModel cannot run op(s) ${plan.unfeedable.map((n) => `"${n}"`).join(', ')} in a segment of their own: each reads ` +
          `two outputs of one op of another scope, which tfjs' executor cannot be given. Remove the hooks and strategies ` +
          `on this model (unwrapGraphModel(model)) to run it.`,
      );
    }
    const env = new Map<string, tf.Tensor>();
    for (const [name, t] of Object.entries(mapped)) env.set(ref(name), t);
    this.runItems(plan.items, env);
    return plan.outputs.map((r) => env.get(r)!);
  }

  private planFor(inputs: tf.NamedTensorMap, outputs: string[]): Segmentation {
    const names = Object.keys(inputs).sort();
    const key = `${names.join(',')}--${outputs.join(',')}`;
    let plan = this.plans.get(key);
    if (plan === undefined) {
      // compile() also checks that the outputs can be computed from these inputs, with tfjs' own errors.
      plan = segment(orderedNodes(this.executor, inputs, outputs), names, outputs, this.ctx);
      this.plans.set(key, plan);
    }
    return plan;
  }

  /** Runs the items in order; returns the tensors they made that are still alive (kept through each hook's tidy). */
  private runItems(items: readonly Item[], env: Map<string, tf.Tensor>): tf.Tensor[] {
    const made: tf.Tensor[] = [];
    for (const item of items) {
      if (item.kind === 'run') {
        // The run's module is the enclosing group's (or the root's), whose forward is already running.
        made.push(...this.executeRun(item, env));
      } else if (hasHooks(item.module)) {
        const seg = { run: () => this.runItems(item.items, env) };
        made.push(...(item.module.forward(seg) as tf.Tensor[]));
      } else {
        made.push(...this.runItems(item.items, env));
      }
    }
    return made.filter((t) => !t.isDisposed);
  }

  private executeRun(run: Run, env: Map<string, tf.Tensor>): tf.Tensor[] {
    if (run.outputs.length === 0) return [];
    // A weight not on the device fails here with a ParameterNotResidentError naming it, not inside a kernel.
    for (const p of run.weights) readable(p);
    const feed: tf.NamedTensorMap = {};
    for (const r of run.inputs) feed[r] = env.get(r)!;
    const out = this.execute(feed, run.outputs);
    run.outputs.forEach((r, i) => env.set(r, out[i]!));
    for (const r of run.freeAfter) {
      const t = env.get(r);
      env.delete(r);
      // Kept tensors are weights handed through (Identity); they are not ours to free.
      if (t !== undefined && !t.kept && !isStillNeeded(t, env)) t.dispose();
    }
    return out.filter((t) => !t.isDisposed);
  }
}

function readable(p: Parameter): void {
  p.read();
}

/** The same tensor may sit under two refs (an op that returns its input); it is freed with the last. */
function isStillNeeded(t: tf.Tensor, env: Map<string, tf.Tensor>): boolean {
  for (const other of env.values()) if (other === t) return true;
  return false;
}

export function hasHooks(m: Module): boolean {
  const registry = HookRegistry.get(m);
  return registry !== undefined && registry.hookOrder.length > 0;
}
