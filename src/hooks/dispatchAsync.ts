import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import type { Module } from '../models/Module.js';
import { describeModule } from '../models/paths.js';
import { HookRegistry, notifyForwardError, preForwardOf } from './HookRegistry.js';

/**
 * Runs a module's hooks around an asynchronous body, as the registry's dispatch runs them around a synchronous
 * forward: each hook's preForward outermost first, then `body` awaited, then each postForward innermost first;
 * when anything inside a hook throws (or rejects), its onForwardError runs, innermost first, and the error
 * propagates unchanged. `body` receives the arguments the preForwards passed on.
 *
 * Two differences from a synchronous forward, both because a forward cannot span an await inside tf.tidy:
 * - no tidy scope wraps the chain, so a hook must not leave tensors behind (the offloading hooks make none
 *   but the weights the Parameters keep);
 * - a hook with `newForward` cannot wrap the body (its `next()` would return a promise it cannot await in a
 *   synchronous method): the call is refused before any hook runs, naming it.
 *
 * The chain is read once, at the start: a hook registered or removed while the body is pending takes effect
 * from the next call, as with a synchronous forward in flight.
 */
export async function forwardAsync<T>(module: Module, args: unknown[], body: (args: unknown[]) => Promise<T>, what: string): Promise<T> {
  const chain = HookRegistry.get(module)?.entries ?? [];
  const replacing = chain.filter((e) => e.replaces);
  if (replacing.length > 0) {
    throw new MemhooksError(
      ERROR_CODES.INVALID_HOOK,
      `${what} runs the hooks of module ${describeModule(module)} around an asynchronous execution, and hook(s) ` +
        `${replacing.map((e) => `"${e.name}" (${e.hook.constructor.name})`).join(', ')} replace the forward (newForward), which ` +
        `cannot wait for it. Remove them (handle.remove()), or use hooks with preForward/postForward only.`,
    );
  }
  const step = async (i: number, inner: unknown[]): Promise<unknown> => {
    if (i < 0) return body(inner);
    const e = chain[i]!;
    const next = preForwardOf(e, module, inner);
    try {
      const out = await step(i - 1, next);
      return e.post ? e.hook.postForward(module, out) : out;
    } catch (error) {
      if (e.onError) notifyForwardError(e, module, error);
      throw error;
    }
  };
  return (await step(chain.length - 1, args)) as T;
}
