import type * as tf from '@tensorflow/tfjs-core';
import { HookRegistry } from '../../hooks/HookRegistry.js';
import type { GraphModelScope } from '../../models/wrapped/GraphScope.js';
import { checkExecution, executorArgs, type GraphExecutorLike, type GraphModelLike } from './executorInternals.js';

type ModelCall = (inputs: unknown, outputs?: unknown) => unknown;

/**
 * Makes the model's `execute` and `executeAsync` enter the root's hook chain once, with the caller's own arguments
 * (`predict` and `predictAsync` call them with the model's output names, so they enter it too). tfjs' own checks
 * run first, so a wrong call fails with tfjs' error before any hook runs. With no hook anywhere in the tree, a call
 * is the model's own. Returns the undo.
 *
 * `executeAsync` runs its hooks around the same synchronous execution as `execute`: without control flow, an
 * asynchronous execution runs the same ops in the same order, and a hook that replaces the call (tiling) gets its
 * tiles' outputs back synchronously.
 */
export function patchEntryPoints(
  model: GraphModelLike,
  executor: GraphExecutorLike,
  root: GraphModelScope,
  anyHooks: () => boolean,
): () => void {
  const ownExecute = model.execute as ModelCall;
  const ownExecuteAsync = model.executeAsync as ModelCall;
  const enter = (inputs: unknown, outputs: unknown): unknown => {
    checkCall(model, executor, root, inputs, outputs);
    return root.forward(inputs, outputs);
  };
  const execute = function execute(inputs: unknown, outputs?: unknown): unknown {
    return anyHooks() ? enter(inputs, outputs) : ownExecute.call(model, inputs, outputs);
  };
  const executeAsync = async function executeAsync(inputs: unknown, outputs?: unknown): Promise<unknown> {
    return anyHooks() ? enter(inputs, outputs) : ownExecuteAsync.call(model, inputs, outputs);
  };
  const saved = {
    execute: Object.getOwnPropertyDescriptor(model, 'execute'),
    executeAsync: Object.getOwnPropertyDescriptor(model, 'executeAsync'),
  };
  Object.defineProperty(model, 'execute', { value: execute, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(model, 'executeAsync', { value: executeAsync, writable: true, configurable: true, enumerable: false });
  return () => {
    for (const [key, desc] of Object.entries(saved)) {
      if (desc === undefined) delete (model as unknown as Record<string, unknown>)[key];
      else Object.defineProperty(model, key, desc);
    }
  };
}

/**
 * One execution of the model on the arguments that reach the root's innermost forward: the model's own `execute`
 * (tfjs normalizes the inputs and unwraps a single output), run by `inRoot` so that its executions run segment by
 * segment without entering the root's hooks again.
 */
export function rootBody(model: GraphModelLike, inRoot: <T>(fn: () => T) => T): (args: unknown[]) => unknown {
  const ownExecute = model.execute as ModelCall;
  return (args) => inRoot(() => ownExecute.call(model, args[0], args[1]));
}

/**
 * tfjs' own checks of a model-level call (input count and names, outputs, shapes and dtypes). A root hook that
 * replaces the call (tiling, batch slicing) hands the graph other tensors than the caller's (a tile, a slice), so
 * then shapes and dtypes are checked on each execution it makes instead, still before any scope's hook runs: a
 * graph whose signature fixes the image size can be tiled with tiles of that size.
 */
function checkCall(model: GraphModelLike, executor: GraphExecutorLike, root: GraphModelScope, inputs: unknown, outputs: unknown): void {
  const args = executorArgs(model, inputs, outputs);
  if (args === undefined) return;
  const replaced = HookRegistry.get(root)?.entries.some((e) => e.replaces) ?? false;
  checkExecution(executor, args[0] as tf.NamedTensorMap, args[1], { shapes: !replaced });
}
