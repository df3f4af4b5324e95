import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, memory, unwrapGraphModel, useBackend, wrapGraphModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('mobilenet-v2-mid-nsfw');   // or: await tf.loadGraphModel(url)
const root = wrapGraphModel(model);                             // a Module per name scope, a Parameter per weight
console.log(root.getSubmodule('sequential.predict.MobilenetV2.expanded_conv_3.depthwise').namedParameters().map(([k]) => k));
// [ 'depthwise_weights', 'depthwise_bn_offset' ]

const handle = applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true });
const x = tf.randomUniform([1, 224, 224, 3]);
const y = model.execute(x) as tf.Tensor;                        // same bits as unwrapped; each scope onloaded for its ops
const z = (await model.executeAsync(x)) as tf.Tensor;           // predict and executeAsync too
console.log(root.memoryFootprint().device, memory.stats().deviceBytes > 0); // 0 true: no weight on the device between calls

handle.remove();
unwrapGraphModel(model);                                        // the executor's own weight map and execute again
tf.dispose([x, y, z]);
model.dispose();
