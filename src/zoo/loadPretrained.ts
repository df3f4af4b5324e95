import * as tf from '@tensorflow/tfjs-core';
import { importOptionalPeer } from '../runtime/optionalPeers.js';
import type { TfjsGraphModel } from '../models/wrapped/TfjsGraphModel.js';
import type { TfjsLayersModel } from '../models/wrapped/TfjsLayersModel.js';
import { isGraphFormat, type PretrainedModel, type PretrainedName } from './catalog.js';
import { readArtifacts } from './artifacts.js';
import { fetchPretrained, pretrainedSpec, type PretrainedOptions } from './fetchPretrained.js';

/**
 * Loads a real pre-trained model, fetching its npm package into the cache first when needed. A GraphModel entry
 * (format `graph-json` / `graph-umd`) gives a tfjs-converter GraphModel and needs `@tensorflow/tfjs-converter`;
 * the others give a tfjs-layers LayersModel and need `@tensorflow/tfjs-layers` (both optional peers of memhooks).
 *
 * The declared type is `M`, by default what the entry holds as memhooks knows it (TfjsGraphModel or
 * TfjsLayersModel), since the declarations cannot import the optional peers; an app that has the peer gets the
 * full type by naming it: `const model: LayersModel = await loadPretrained('upscaler-esrgan-2x')`,
 * `const graph: GraphModel = await loadPretrained('handtrack-human')`.
 *
 * @example
 * const model = await loadPretrained('upscaler-esrgan-2x');
 * const root = wrapLayersModel(model);
 */
export async function loadPretrained<N extends PretrainedName, M extends PretrainedModel<N> = PretrainedModel<N>>(name: N, options: PretrainedOptions = {}): Promise<M> {
  const spec = pretrainedSpec(name);
  // The peer first: without it, there is no point in downloading the model.
  if (isGraphFormat(spec.format)) {
    const tfc = await importOptionalPeer('@tensorflow/tfjs-converter', 'Loading a pre-trained GraphModel', () => import('@tensorflow/tfjs-converter'));
    const artifacts = readArtifacts(await fetchPretrained(name, options), spec);
    // M is what the caller names; the object is the GraphModel that tfjs-converter built, whatever M says.
    return (await tfc.loadGraphModel(tf.io.fromMemory(artifacts))) as TfjsGraphModel as M;
  }
  const tfl = await importOptionalPeer('@tensorflow/tfjs-layers', 'Loading a pre-trained LayersModel', () => import('@tensorflow/tfjs-layers'));
  const artifacts = readArtifacts(await fetchPretrained(name, options), spec);
  return (await tfl.loadLayersModel(tf.io.fromMemory(artifacts))) as TfjsLayersModel as M;
}
