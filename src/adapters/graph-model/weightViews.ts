import * as tf from '@tensorflow/tfjs-core';

type EngineInternals = { state: { tensorInfo: WeakMap<object, { backend: tf.KernelBackend }> } };

/**
 * A second tensor over the very device bytes of `t` (no copy, on any backend): the bytes stay allocated until both
 * are disposed. tf.clone cannot serve, since the wasm backend copies. The view is kept, as the Parameters' tensors
 * are, so that tfjs' executor hands it through Identity ops and no tidy scope frees it.
 */
export function shareBytes(t: tf.Tensor): tf.Tensor {
  const owner = (tf.engine() as unknown as EngineInternals).state.tensorInfo.get(t.dataId)?.backend ?? tf.backend();
  const view = tf.engine().makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, owner);
  owner.incRef(t.dataId);
  return tf.keep(view);
}
