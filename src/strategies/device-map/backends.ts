import * as tf from '@tensorflow/tfjs-core';

type EngineInternals = {
  registry: Record<string, tf.KernelBackend>;
  state: { tensorInfo: WeakMap<object, { backend: tf.KernelBackend }> };
  moveData(backend: tf.KernelBackend, dataId: object): void;
};
const engine = () => tf.engine() as unknown as EngineInternals;

/** The name of the backend that holds a tensor's data (tfjs-notes §4: every dataId knows its owner). */
export function backendOf(t: tf.Tensor): string | undefined {
  const owner = engine().state.tensorInfo.get(t.dataId)?.backend;
  return Object.entries(engine().registry).find(([, b]) => b === owner)?.[0];
}

/** Moves a tensor's data to another initialized backend, bit for bit (the engine's own moveData). */
export function moveToBackend(t: tf.Tensor, name: string): void {
  if (backendOf(t) === name) return;
  engine().moveData(engine().registry[name]!, t.dataId);
}

/**
 * Makes `name` the active backend synchronously. tf.setBackend only awaits when the backend still has to be
 * initialized; dispatchModel checked that every backend it uses is, so the switch is done on return.
 */
export function switchBackend(name: string): void {
  if (tf.getBackend() === name) return;
  void tf.setBackend(name);
}

/** Runs fn with `name` as the active backend, then restores the previous one. */
export function withBackend<T>(name: string, fn: () => T): T {
  const previous = tf.getBackend();
  switchBackend(name);
  try {
    return fn();
  } finally {
    switchBackend(previous);
  }
}
