// The browser suite's set-up, in Node before any page opens: fetches the real upscaler into the repository's .cache
// with the zoo (as the Node suites do) and tells the pages where the vite server serves its model.json.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
// Through the Node entry point, which registers the Node platform before the zoo's modules run.
import { fetchPretrained, PRETRAINED_MODELS } from '../../src/node-zoo.js';
import { MODEL_CACHE_DIR } from './realModels.js';

export default async function setup(project: TestProject): Promise<void> {
  const name = 'upscaler-esrgan-2x';
  const dir = await fetchPretrained(name, { cacheDir: MODEL_CACHE_DIR });
  // The page loads it with tf.loadLayersModel(url): model.json names its weight files relative to itself.
  const file = path.relative(project.config.root, path.join(dir, PRETRAINED_MODELS[name].modelFile));
  project.provide('upscalerUrl', `/${file.split(path.sep).join('/')}`);
}
