import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { fetchPretrained, loadPretrained, PRETRAINED_NAMES, type GraphPretrainedName, type LayersPretrainedName } from '../../src/zoo/index.js';

/** Where the test suite keeps the real models (git-ignored; fetched once by test/helpers/globalSetup.ts). */
export const MODEL_CACHE_DIR = '.cache/models';

/** Downloads and extracts every real model the suites use, once, before any suite runs. */
export async function ensureRealModels(): Promise<void> {
  for (const name of PRETRAINED_NAMES) await fetchPretrained(name, { cacheDir: MODEL_CACHE_DIR });
}

/** A fresh instance of a real model (each call loads a new one, with its own variables). */
export function loadRealModel(name: LayersPretrainedName): Promise<LayersModel> {
  return loadPretrained(name, { cacheDir: MODEL_CACHE_DIR });
}

/** A fresh instance of a real GraphModel (each call loads a new one, with its own weights). */
export function loadRealGraphModel(name: GraphPretrainedName): Promise<GraphModel> {
  return loadPretrained(name, { cacheDir: MODEL_CACHE_DIR });
}
