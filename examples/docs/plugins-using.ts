// Applies the device-bytes logger to a small model and prints one line per module forward.
import * as tf from '@tensorflow/tfjs-core';
import { applyStrategy, Linear, Module, ModuleList, useBackend } from 'memhooks';
import { DEVICE_BYTES_LOGGER, type DeviceBytesRecord } from './plugins-device-bytes-logger.js'; // registers the strategy

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'cpu');

class Net extends Module {
  embed = new Linear(8, 16);
  blocks = new ModuleList([new Linear(16, 16), new Linear(16, 16)]);
  head = new Linear(16, 4);

  forward(x: tf.Tensor): tf.Tensor {
    let h = this.embed.forward(x);
    for (const block of this.blocks) h = tf.relu(block.forward(h));
    return this.head.forward(h);
  }
}

const model = new Net();
const records: DeviceBytesRecord[] = [];
{
  // `r` is a DeviceBytesRecord: StrategyOptionsMap types the options by the strategy's name.
  using _logger = applyStrategy(model, DEVICE_BYTES_LOGGER, { onRecord: (r) => records.push(r) });
  const x = tf.ones([2, 8]);
  const y = model.forward(x);
  tf.dispose([x, y]);
} // leaving the block removes the strategy

for (const r of records) console.log(`${r.path || '(root)'}: ${r.after - r.before} bytes more after its forward`);
// embed: 128 bytes more after its forward
// blocks.0: 128 bytes more after its forward
// blocks.1: 128 bytes more after its forward
// head: 32 bytes more after its forward
// (root): 32 bytes more after its forward
model.dispose();
