import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, memory, unwrapGraphModel, useBackend, wrapGraphModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('mobilenet-v2-mid-nsfw');    // its manifest ships every weight as uint8
const root = wrapGraphModel(model, { hostWeights: 'shipped' }); // host copies: the shipped codes, not float32

const handle = applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true });
console.log(root.memoryFootprint());                            // { device: 0, host: 4300775, disk: 0 }: ¼ of 17.2 MB
const x = tf.randomUniform([1, 224, 224, 3]);
const y = model.execute(x) as tf.Tensor;                         // decoded as tfjs decoded them at load: same bits
console.log(memory.stats().hostBytes >= 4300775);               // true: the codes (and the worker's staging slots)

handle.remove();
unwrapGraphModel(model);
tf.dispose([x, y]);
model.dispose();
