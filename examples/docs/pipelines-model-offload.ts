import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from 'memhooks';
import { createTextToImage } from './pipelines-text-to-image.js'; // the TextToImage pipeline above

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const { pipe, ids } = createTextToImage();

pipe.enableModelCpuOffload();
const image = pipe.generate(ids, 3);
console.log(image.shape);

pipe.removeAllHooks(); // every weight back on the device
tf.dispose([ids, image]);
pipe.dispose();
