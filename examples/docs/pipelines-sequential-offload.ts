import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from 'memhooks';
import { createTextToImage } from './pipelines-text-to-image.js'; // the TextToImage pipeline above

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const { pipe, ids } = createTextToImage();

pipe.enableSequentialCpuOffload();
const image = pipe.generate(ids, 2); // one module's own weights on the device at a time

pipe.removeAllHooks();
tf.dispose([ids, image]);
pipe.dispose();
