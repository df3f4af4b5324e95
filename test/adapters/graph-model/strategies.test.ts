import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  dispatchModel,
  memory,
  wrapGraphModel,
  type GroupOffloadingOptions,
  type Module,
  type StrategyHandle,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { sameBits } from '../../wrap/fixtures.js';
import { fixtureInput, loadFixtureGraphModel, trackGraphModels } from './graphFixture.js';

const GROUP_CONFIGS: Array<[string, GroupOffloadingOptions, boolean]> = [
  ['block level', { offloadType: 'block_level', numBlocksPerGroup: 1 }, false],
  ['block level + stream', { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true }, false],
  ['leaf level', { offloadType: 'leaf_level' }, false],
  ['leaf level + stream', { offloadType: 'leaf_level', useStream: true }, false],
  ['leaf level + stream, from disk', { offloadType: 'leaf_level', useStream: true }, true],
];

/** Where every weight is and which tensor it holds: remove() must put all of it back. */
function snapshot(root: Module): Array<[string, string, tf.Tensor | undefined]> {
  return root.namedParameters().map(([path, p]) => [path, p.tier, p.peek()]);
}

describe.each(BACKENDS)('strategies through a wrapped GraphModel on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-graph-strategies-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const track = trackGraphModels();
  const load = async () => track(await loadFixtureGraphModel());

  /** Runs execute and executeAsync twice each (the first call records the order, the next prefetch along it). */
  async function expectSameOutputs(model: GraphModel, x: tf.Tensor, reference: Float32Array, label: string, exact = true): Promise<void> {
    for (let i = 0; i < 2; i++) {
      for (const via of ['execute', 'executeAsync'] as const) {
        const out = (via === 'execute' ? model.execute(x) : await model.executeAsync(x)) as tf.Tensor;
        const got = out.dataSync();
        if (exact) expect(sameBits(got, reference), `${label}, ${via}, call ${i + 1}`).toBe(true);
        else got.forEach((v, j) => expect(Math.abs(v - reference[j]!), `${label}, ${via}`).toBeLessThan(0.05));
        out.dispose();
      }
    }
  }

  it('group offloading at every level, with and without stream, from disk: bitwise, weights off the device between calls, remove() exact', async () => {
    const model = await load();
    const x = fixtureInput();
    const reference = (model.execute(x) as tf.Tensor).dataSync() as Float32Array;
    tf.dispose(reference);
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    const before = snapshot(root);
    for (const [label, options, disk] of GROUP_CONFIGS) {
      await expectNoLeaks(async () => {
        const handle = applyGroupOffloading(root, { ...options, ...(disk ? { offloadToDiskPath: join(scratch, `${backend}-${label.replaceAll(' ', '_')}`) } : {}) });
        await expectSameOutputs(model, x, reference, label);
        expect(root.memoryFootprint().device, label).toBeLessThanOrEqual(resident * 0.1);
        handle.remove();
      }, { label });
      const after = snapshot(root);
      expect(after.map(([p, tier]) => [p, tier]), label).toEqual(before.map(([p, tier]) => [p, tier]));
    }
    x.dispose();
  });

  it('sequential offload: bitwise, nothing on the device between calls', async () => {
    const model = await load();
    const x = fixtureInput();
    const reference = (model.execute(x) as tf.Tensor).dataSync() as Float32Array;
    const root = wrapGraphModel(model);
    let handle: StrategyHandle | undefined;
    await expectNoLeaks(async () => {
      handle = applySequentialOffload(root);
      await expectSameOutputs(model, x, reference, 'sequential');
      expect(root.memoryFootprint().device).toBe(0);
      handle.remove();
    });
    expect(root.memoryFootprint().host).toBe(0);
    x.dispose();
  });

  it('layerwise casting stores the conv and matmul leaves in low precision and decodes them for their ops', async () => {
    const model = await load();
    const x = fixtureInput();
    const reference = (model.execute(x) as tf.Tensor).dataSync() as Float32Array;
    const root = wrapGraphModel(model);
    const full = root.memoryFootprint().device;
    const handle = applyLayerwiseCasting(root, { storageDtype: 'float16' });
    expect(root.memoryFootprint().device).toBeLessThan(full);
    for (const path of ['net.block1.conv', 'net.block2.dw', 'net.block2.pw', 'net.head']) {
      for (const [, p] of root.getSubmodule(path).namedParameters()) expect(p.storageDtype, path).toBe('float16');
    }
    await expectSameOutputs(model, x, reference, 'casting', false);
    handle.remove();
    // The weights are float32 again (holding the values they had in low precision: casting is lossy).
    expect(root.memoryFootprint().device).toBe(full);
    for (const [, p] of root.namedParameters()) expect(p.storageDtype).toBe('float32');
    await expectSameOutputs(model, x, reference, 'after remove', false);
    x.dispose();
  });

  it('dispatchModel with a tier map: host and disk scopes onloaded for their ops only, bitwise', async () => {
    const model = await load();
    const x = fixtureInput();
    const reference = (model.execute(x) as tf.Tensor).dataSync() as Float32Array;
    const root = wrapGraphModel(model);
    const handle = dispatchModel(
      root,
      { 'net.stem': 'device', 'net.block1': 'host', 'net.block2': 'disk', 'net.head': 'host' },
      { offloadFolder: join(scratch, `dispatch-${backend}`) },
    );
    expect(root.getSubmodule('net.block1').memoryFootprint().device).toBe(0);
    expect(root.getSubmodule('net.block2').memoryFootprint().device).toBe(0);
    await expectSameOutputs(model, x, reference, 'dispatch');
    expect(root.getSubmodule('net.block2').memoryFootprint().device).toBe(0);
    handle.remove();
    expect(root.memoryFootprint().host + root.memoryFootprint().disk).toBe(0);
    x.dispose();
  });

  it('memory.trace shows a slice per scope forward, in execution order', async () => {
    const model = await load();
    const x = fixtureInput();
    const root = wrapGraphModel(model);
    const trace = memory.trace(() => tf.dispose(model.execute(x)), { modules: root });
    const names = trace.traceEvents.filter((e) => e.ph === 'X' || e.ph === 'B').map((e) => e.name);
    for (const path of ['net.stem', 'net.block1.conv', 'net.block2.pw', 'net.head']) expect(names.some((n) => n.includes(path)), path).toBe(true);
    expect(names.findIndex((n) => n.includes('net.block1.conv'))).toBeLessThan(names.findIndex((n) => n.includes('net.head')));
    x.dispose();
  });
});
