import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, Linear, ModelHook, useBackend, type Module } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

class LastOutput extends ModelHook {
  override readonly stateful = true;
  last: tf.Tensor | undefined;
  override postForward(_m: Module, out: tf.Tensor) {
    this.last?.dispose();
    this.last = tf.keep(out.clone()); // survives the call's scope
    return out;
  }
  override resetState() { this.last?.dispose(); this.last = undefined; }
  override deinitializeHook() { this.resetState(); }
  override detachHook() { this.resetState(); }
}

const layer = new Linear(8, 8);
const hook = new LastOutput();
const handle = HookRegistry.checkIfExistsOrInitialize(layer).registerHook(hook, 'last-output');
const x = tf.randomNormal([1, 8]);
const y = layer.forward(x);
console.log(hook.last?.shape); // [1, 8]: a copy the hook keeps until its state is reset
handle.remove();               // deinitializeHook disposes the kept copy
tf.dispose([x, y]);
layer.dispose();
