import type * as tf from '@tensorflow/tfjs-core';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { forwardAsync } from '../../hooks/dispatchAsync.js';
import type { Parameter } from '../../models/Parameter.js';
import type { GraphScope, GraphSegment } from '../../models/wrapped/GraphScope.js';
import { checkExecution, orderedNodes, originalExecute, originalExecuteAsync, type GraphExecutorLike } from './executorInternals.js';
import { hasHooks } from './runner.js';
import { shareBytes } from './weightViews.js';

type TensorsMap = Record<string, tf.Tensor[]>;

/**
 * Runs a wrapped GraphModel that has control flow or dynamic ops as one whole: its order is decided by tfjs while it
 * runs, so no scope's hooks can bracket their ops, and only the root's hooks run, around the executor's own execution.
 *
 * - `execute` (and `predict`): the root's hooks around the executor's own execute, after tfjs' own checks (inputs,
 *   outputs, and its refusal of dynamic ops, which asks for executeAsync) so that a refused call runs no hook.
 * - `executeAsync`: the root's pre-forward hooks, then the executor's own executeAsync awaited, then the post-forward
 *   hooks (forwardAsync). The executions of one model take turns: a second call starts once the first has settled,
 *   so two never interleave their hooks.
 * - While an asynchronous execution is pending, the executor reads views of the weights' device bytes, taken once
 *   its pre-forward hooks ran (the executor's weight map reads them through `leased`). Whatever offloads a weight
 *   meanwhile (another model's onload in a model-offload chain, handle.offload(), a strategy applied) moves the
 *   Parameter, but the bytes the execution reads stay allocated until it settles: never a wrong result.
 */
export class WholeGraphRunner {
  /** The views an asynchronous execution reads while it is pending; undefined otherwise. */
  leased: TensorsMap | undefined;
  private turn: Promise<unknown> = Promise.resolve();
  private readonly ownExecute: (inputs: tf.NamedTensorMap, outputs: string[]) => tf.Tensor[];
  private readonly ownExecuteAsync: (inputs: tf.NamedTensorMap, outputs: string[]) => Promise<tf.Tensor[]>;

  constructor(
    private readonly executor: GraphExecutorLike,
    private readonly root: GraphScope,
    /** The executor's own weight map (int32 constants included), by node name. */
    private readonly weightMap: TensorsMap,
    private readonly params: ReadonlyMap<string, Parameter>,
  ) {
    this.ownExecute = originalExecute(executor);
    this.ownExecuteAsync = originalExecuteAsync(executor);
  }

  run(inputs: tf.NamedTensorMap, outputs: string[]): tf.Tensor[] {
    if (!hasHooks(this.root)) return this.ownExecute(inputs, outputs);
    this.checkSync(inputs, outputs);
    const segment: GraphSegment = { run: () => this.ownExecute(inputs, outputs) };
    return this.root.forward(segment) as tf.Tensor[];
  }

  async runAsync(inputs: tf.NamedTensorMap, outputs: string[]): Promise<tf.Tensor[]> {
    // tfjs' own errors for wrong inputs or outputs, before this call waits its turn or runs any hook.
    checkExecution(this.executor, inputs, outputs);
    const mine = this.turn.then(() => this.runNow(inputs, outputs));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async runNow(inputs: tf.NamedTensorMap, outputs: string[]): Promise<tf.Tensor[]> {
    const body = (): Promise<tf.Tensor[]> => this.withLease(() => this.ownExecuteAsync(inputs, outputs));
    if (!hasHooks(this.root)) return body();
    const segment: GraphSegment = { run: body };
    return forwardAsync(this.root, [segment], (args) => {
      if (args.length !== 1 || args[0] !== segment) {
        throw new MemhooksError(
          ERROR_CODES.INVALID_HOOK,
          `A preForward hook on the root of a GraphModel run as a whole (control flow) replaced its arguments; tfjs runs ` +
            `the model on the inputs given to model.executeAsync(), so the replacement would be ignored. Transform the ` +
            `inputs before calling the model instead.`,
        );
      }
      return body();
    }, 'model.executeAsync()');
  }

  /** tfjs' own checks, then its compile step, which refuses dynamic ops with its own error ("use executeAsync"). */
  private checkSync(inputs: tf.NamedTensorMap, outputs: string[]): void {
    checkExecution(this.executor, inputs, outputs);
    orderedNodes(this.executor, this.executor.mapInputs(inputs), this.executor.mapOutputs(outputs));
  }

  /** Runs `execute` on views of every weight, released once it settles (those handed back as outputs are the caller's). */
  private async withLease(execute: () => Promise<tf.Tensor[]>): Promise<tf.Tensor[]> {
    const views: tf.Tensor[] = [];
    const map: TensorsMap = {};
    try {
      for (const [name, tensors] of Object.entries(this.weightMap)) {
        const p = this.params.get(name);
        // read() names a weight that is not on the device (ParameterNotResidentError) before anything runs.
        map[name] = p === undefined ? tensors : [shareBytes(p.read())];
        if (p !== undefined) views.push(map[name]![0]!);
      }
    } catch (error) {
      for (const v of views) v.dispose();
      throw error;
    }
    this.leased = map;
    let out: tf.Tensor[] = [];
    try {
      out = await execute();
      return out;
    } finally {
      this.leased = undefined;
      const handedBack = new Set(out);
      for (const v of views) if (!handedBack.has(v)) v.dispose();
    }
  }
}
