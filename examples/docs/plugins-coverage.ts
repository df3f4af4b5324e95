// Conflicts are judged by what each application covers: jit-offload on `head` sits beside group offloading
// on `blocks`, and is refused where group offloading covers `head` too.
import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, applyStrategy, events, Linear, Module, ModuleList, StrategyConflictError, useBackend, type TransferEvent } from 'memhooks';
import './plugins-jit-offload.js'; // registers 'jit-offload'

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'cpu');

class Net extends Module {
  blocks = new ModuleList([new Linear(16, 16), new Linear(16, 16)]);
  head = new Linear(16, 4);

  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const block of this.blocks) h = tf.relu(block.forward(h));
    return this.head.forward(h);
  }
}

const model = new Net();
const onloads: string[] = [];
const onOnload = (e: TransferEvent): void => void onloads.push(e.path);
events.on('onload', onOnload);

const groups = applyGroupOffloading(model.blocks, { offloadType: 'leaf_level' });
const jit = applyStrategy(model, 'jit-offload', { modules: ['head'] }); // covers head only: allowed
const x = tf.ones([2, 16]);
tf.dispose(model.forward(x));
// Group offloading's groups (ids "0" and "1" under blocks), then the plugin's onload of head:
console.log(onloads.join(', ')); // 0, 1, "head" (Linear)
jit.remove();
groups.remove();

const whole = applyGroupOffloading(model, { offloadType: 'leaf_level' }); // now group offloading covers head too
try {
  applyStrategy(model, 'jit-offload', { modules: ['head'] });
} catch (err) {
  console.log(err instanceof StrategyConflictError); // true
}
whole.remove();
events.off('onload', onOnload);
x.dispose();
model.dispose();
