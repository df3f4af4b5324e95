import * as tf from '@tensorflow/tfjs-core';
import { applyGroupOffloading, memory, unwrapGraphModel, useBackend, wrapGraphModel } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('mobilenet-v2-mid-nsfw');    // a real GraphModel from npm; or await tf.loadGraphModel(url)
const root = wrapGraphModel(model, { hostWeights: 'shipped' }); // a Module per name scope; host copies stay uint8 as shipped
const x = tf.randomUniform([1, 224, 224, 3]);

const resident = memory.track(() => model.execute(x) as tf.Tensor);
const offload = applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true });
const hooked = memory.track(() => model.execute(x) as tf.Tensor); // the model's own execute / predict / executeAsync
const same = tf.tidy(() => tf.all(tf.equal(hooked.result, resident.result)).dataSync()[0]);
console.log(resident.peakDeviceBytes, '→', hooked.peakDeviceBytes, same); // about 27 → 10 MB, and 1: the same bits

offload.remove();
unwrapGraphModel(model);                                         // the model exactly as it was loaded
tf.dispose([x, resident.result, hooked.result]);
model.dispose();
