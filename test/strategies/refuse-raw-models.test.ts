import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyBatchSlicing,
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  applyStrategy,
  applyTiling,
  computeModuleSizes,
  cpuOffloadWithHook,
  dispatchModel,
  getBalancedMemory,
  inferAutoDeviceMap,
  MemhooksError,
  type Module,
  Pipeline,
  setAttentionProcessor,
} from '../../src/index.js';
import { validateDeviceMap } from '../../src/strategies/device-map/placement.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

/** A real GraphModel (tfjs-converter's format), built in memory: y = relu(x). */
function tinyGraphModel(): Promise<GraphModel> {
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }] } } } },
      { name: 'y', op: 'Relu', input: ['x'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    versions: { producer: 1 },
  };
  return loadGraphModel(tf.io.fromMemory({ modelTopology, weightSpecs: [], weightData: new ArrayBuffer(0), format: 'graph-model' }));
}

/** Every public entry point that takes a module, called with `model` where the module goes. */
function entryPoints(model: unknown): Array<[string, () => unknown]> {
  const m = model as Module;
  return [
    ['applyGroupOffloading', () => applyGroupOffloading(m, { offloadType: 'leaf_level' })],
    ['applyLayerwiseCasting', () => applyLayerwiseCasting(m)],
    ['applySequentialOffload', () => applySequentialOffload(m)],
    ['cpuOffloadWithHook', () => cpuOffloadWithHook(m)],
    ['applyBatchSlicing', () => applyBatchSlicing(m)],
    ['applyTiling', () => applyTiling(m, { tileSize: 8 })],
    ['setAttentionProcessor', () => setAttentionProcessor(m, 'sliced')],
    ['dispatchModel', () => dispatchModel(m, { '': 'device' })],
    ['applyStrategy', () => applyStrategy<unknown>(m, 'no-such-plugin', {})],
    ['computeModuleSizes', () => computeModuleSizes(m)],
    ['inferAutoDeviceMap', () => inferAutoDeviceMap(m, { maxMemory: { device: '1GB' } })],
    ['getBalancedMemory', () => getBalancedMemory(m)],
    ['validateDeviceMap', () => validateDeviceMap(m, { '': 'device' })],
    ['new Pipeline', () => new Pipeline({ denoiser: m })],
  ];
}

/** The name the message must give: the function as the user called it. */
const calledAs = (label: string): string => (label.startsWith('applyStrategy') ? 'applyStrategy(module, "no-such-plugin", …)' : label === 'new Pipeline' ? 'new Pipeline({ denoiser })' : label);

function errorOf(fn: () => unknown): MemhooksError {
  try {
    fn();
  } catch (err) {
    return err as MemhooksError;
  }
  throw new Error('expected a throw');
}

describe.each(BACKENDS)('entry points refuse raw tfjs models on %s', (backend) => {
  let layers: tfl.LayersModel;
  let graph: GraphModel;
  beforeAll(async () => {
    await useBackend(backend);
    layers = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
    graph = await tinyGraphModel();
  });
  afterAll(() => {
    layers.dispose();
    graph.dispose();
  });

  it.each(entryPoints(null).map(([label]) => label))('%s names wrapLayersModel for a LayersModel', (label) => {
    const [, call] = entryPoints(layers).find(([l]) => l === label)!;
    const before = layers.getWeights().map((w) => w.dataSync().slice());
    const err = errorOf(call);
    expect(err).toBeInstanceOf(MemhooksError);
    expect(err.code).toBe('UNSUPPORTED_MODEL');
    expect(err.message).toContain(`${calledAs(label)} needs a memhooks Module, got a tfjs LayersModel. Wrap it first: const root = wrapLayersModel(model);`);
    expect(layers.getWeights().map((w) => w.dataSync().slice())).toEqual(before);
  });

  it.each(entryPoints(null).map(([label]) => label))('%s says a GraphModel cannot be wrapped yet', (label) => {
    const [, call] = entryPoints(graph).find(([l]) => l === label)!;
    const err = errorOf(call);
    expect(err).toBeInstanceOf(MemhooksError);
    expect(err.code).toBe('UNSUPPORTED_MODEL');
    expect(err.message).toContain(`${calledAs(label)} needs a memhooks Module, got a tfjs GraphModel. Wrap it first: const root = wrapGraphModel(model);`);
  });

  it.each(entryPoints(null).map(([label]) => label))('%s refuses a plain object, naming what it got', (label) => {
    const [, call] = entryPoints({ layers: 3 }).find(([l]) => l === label)!;
    const err = errorOf(call);
    expect(err).toBeInstanceOf(MemhooksError);
    expect(err.message).toMatch(new RegExp(`needs a memhooks Module, got a plain object|must be a Module, got a plain object`));
  });
});
