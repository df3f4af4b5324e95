import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from 'memhooks';
import { createTextToImage } from './pipelines-text-to-image.js'; // the TextToImage pipeline above

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const { pipe, ids } = createTextToImage();

pipe.enableGroupOffload({ offloadType: 'leaf_level', useStream: true, excludeModules: ['vae'] });
const image = pipe.generate(ids, 2);

pipe.removeAllHooks();
tf.dispose([ids, image]);
pipe.dispose();
