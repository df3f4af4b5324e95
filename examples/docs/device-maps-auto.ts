import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ModuleList, computeModuleSizes, getBalancedMemory, inferAutoDeviceMap, useBackend } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

class Net extends Module {
  conv_in = new Linear(64, 64);
  blocks = new ModuleList(Array.from({ length: 8 }, () => new Linear(64, 64)));
  forward(x: tf.Tensor): tf.Tensor {
    x = this.conv_in.forward(x);
    for (const block of this.blocks) x = tf.relu(block.forward(x));
    return x;
  }
}
const model = new Net();

console.log(computeModuleSizes(model));                    // Map: '' → total bytes, 'blocks.0' → …, 'blocks.0.weight' → …
console.log(computeModuleSizes(model, { dtype: 'float16' })); // float weights counted at 2 bytes (after casting)

const map = inferAutoDeviceMap(model, { maxMemory: { device: '60KB', host: '60KB' } }); // e.g. '1GB', '8GB'
console.log(map); // { conv_in: 'device', 'blocks.0': 'device', …, 'blocks.4': 'host', …, 'blocks.7': 'disk' }
console.log(getBalancedMemory(model, { maxMemory: { device: '60KB', host: '1GB' } })); // budgets to pass to inferAutoDeviceMap
model.dispose();
