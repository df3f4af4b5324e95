import * as tf from '@tensorflow/tfjs-core';
import { applySequentialOffload, cpuOffloadWithHook, unwrapGraphModel, useBackend, wrapGraphModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('handtrack-human');          // a while loop and non-max suppression: executeAsync only
const root = wrapGraphModel(model);                              // wrapped as a whole
console.log(root.controlFlow?.nodes.length, root.controlFlow?.nodes[0]);
// 37 { name: 'StatefulPartitionedCall/map/TensorArrayV2_1', op: 'TensorListReserve' }

const offload = cpuOffloadWithHook(root);                        // model offload: the root's hooks, around the whole run
const x = tf.zeros([1, 160, 160, 3], 'int32');
const outputs = (await model.executeAsync(x)) as tf.Tensor[];   // weights onloaded first, the unwrapped model's bits
console.log(outputs.length, root.memoryFootprint().device > 0);  // 8 true: model offload keeps it until offload()
offload.offload();
console.log(root.memoryFootprint().device);                      // 0

try {
  applySequentialOffload(root);                                  // needs hooks on the scopes inside the loop's graph
} catch (error) {
  console.log((error as Error).message.split('\n')[0]);          // names the nodes, and what still works
}

offload.remove();
unwrapGraphModel(model);
tf.dispose([x, ...outputs]);
model.dispose();
