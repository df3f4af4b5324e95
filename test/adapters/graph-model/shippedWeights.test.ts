import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applySequentialOffload,
  events,
  getWrappedGraphModule,
  InvalidArgumentError,
  memory,
  unwrapGraphModel,
  wrapGraphModel,
  type Module,
  type StrategyHandle,
  type TransferEvent,
} from '../../../src/index.js';
import { encodePacked } from '../../../src/dtypes/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { sameBits } from '../../wrap/fixtures.js';
import { fixtureInput, trackGraphModels } from './graphFixture.js';
import { keptArtifacts, loadQuantizedGraphModel, QUANTIZATION } from './quantizedFixture.js';

type Apply = (root: Module) => StrategyHandle;

/** The fixture's blocks, one group each (the root's only child is the `net` scope). */
const BLOCKS = ['net.stem', 'net.block1', 'net.block2', 'net.head'];

const CONFIGS: Array<[string, Apply, boolean]> = [
  ['leaf level + stream', (root) => applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true }), true],
  ['leaf level', (root) => applyGroupOffloading(root, { offloadType: 'leaf_level' }), false],
  ['block level', (root) => applyGroupOffloading(root, { offloadType: 'block_level', numBlocksPerGroup: 1, blockModules: BLOCKS }), false],
  ['block level + stream', (root) => applyGroupOffloading(root, { offloadType: 'block_level', numBlocksPerGroup: 1, useStream: true, blockModules: BLOCKS }), true],
  ['sequential offload', (root) => applySequentialOffload(root), false],
];

function run(model: GraphModel, x: tf.Tensor): Float32Array {
  const out = model.execute(x) as tf.Tensor;
  const values = out.dataSync().slice() as Float32Array;
  out.dispose();
  return values;
}

describe.each(BACKENDS)("wrapGraphModel(model, { hostWeights: 'shipped' }) on a quantized fixture on %s", (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = mkdtempSync(join(os.tmpdir(), 'memhooks-shipped-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const track = trackGraphModels();
  const load = async () => {
    const loaded = await loadQuantizedGraphModel();
    track(loaded.model);
    return loaded;
  };

  it('offloaded, the host holds the shipped codes (¼ for uint8, ½ for uint16 and float16); outputs bitwise the unwrapped model; remove() exact', async () => {
    const { model, bytes } = await load();
    const x = fixtureInput();
    const reference = run(model, x);
    const host0 = memory.stats().hostBytes;
    const root = wrapGraphModel(model, { hostWeights: 'shipped' });
    // On the device, each quantized weight keeps its codes on the host: offloading it is then a dispose.
    expect(memory.stats().hostBytes - host0).toBe(bytes.quantizedShipped);
    const resident = root.memoryFootprint().device;
    expect(resident).toBe(bytes.float32);
    let staged = 0;
    const onPrefetch = (e: TransferEvent): void => void (e.staged === true && staged++);
    events.on('prefetch', onPrefetch);
    for (const [label, apply, stream] of CONFIGS) {
      staged = 0;
      await expectNoLeaks(async () => {
        const handle = apply(root);
        for (let call = 0; call < 2; call++) {
          for (const via of ['execute', 'executeAsync'] as const) {
            const out = (via === 'execute' ? model.execute(x) : await model.executeAsync(x)) as tf.Tensor;
            expect(sameBits(out.dataSync(), reference), `${label}, ${via}, call ${call + 1}`).toBe(true);
            out.dispose();
            expect(root.memoryFootprint().device, label).toBe(0);
            // The quantized weights hold their codes, the one shipped as float32 its float32 values.
            expect(root.memoryFootprint().host, label).toBe(bytes.shipped);
            // The ledger counts the same (plus the staging slots the stream decodes into).
            if (!stream) expect(memory.stats().hostBytes - host0, label).toBe(bytes.shipped);
            else expect(memory.stats().hostBytes - host0, label).toBeGreaterThan(bytes.shipped);
          }
        }
        handle.remove();
      }, { label });
      // With useStream, the transfer worker dequantized the codes of the groups prefetched along the recorded order.
      if (stream) expect(staged, label).toBeGreaterThan(0);
      expect(root.memoryFootprint().device, label).toBe(resident);
      expect(memory.stats().hostBytes - host0, label).toBe(bytes.quantizedShipped);
      expect(sameBits(run(model, x), reference), `${label}, after remove()`).toBe(true);
    }
    events.off('prefetch', onPrefetch);
    unwrapGraphModel(model);
    expect(memory.stats().hostBytes).toBe(host0);
    expect(sameBits(run(model, x), reference), 'unwrapped').toBe(true);
    x.dispose();
  });

  it('offloaded to disk with stream: the files hold the decoded float32 values; bitwise; remove() puts the weights back', async () => {
    const { model, bytes } = await load();
    const x = fixtureInput();
    const reference = run(model, x);
    const root = wrapGraphModel(model, { hostWeights: 'shipped' });
    await expectNoLeaks(async () => {
      const handle = applyGroupOffloading(root, { offloadType: 'leaf_level', useStream: true, offloadToDiskPath: join(scratch, backend) });
      expect(root.memoryFootprint()).toEqual({ device: 0, host: 0, disk: bytes.float32 });
      for (let call = 0; call < 2; call++) expect(sameBits(run(model, x), reference), `call ${call + 1}`).toBe(true);
      handle.remove();
    });
    expect(root.memoryFootprint().device).toBe(bytes.float32);
    expect(sameBits(run(model, x), reference), 'after remove()').toBe(true);
    x.dispose();
  });

  it("with the default 'float32' the host holds float32 values (today's behaviour)", async () => {
    const { model, bytes } = await load();
    const x = fixtureInput();
    const reference = run(model, x);
    const host0 = memory.stats().hostBytes;
    const root = wrapGraphModel(model);
    expect(memory.stats().hostBytes).toBe(host0);
    const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' });
    expect(sameBits(run(model, x), reference)).toBe(true);
    expect(root.memoryFootprint().host).toBe(bytes.float32);
    expect(memory.stats().hostBytes - host0).toBe(bytes.float32);
    handle.remove();
    x.dispose();
  });

  it('new values drop the codes (assign), and layerwise casting starts from the decoded values', async () => {
    const { model, bytes } = await load();
    const x = fixtureInput();
    const root = wrapGraphModel(model, { hostWeights: 'shipped' });
    const kernel = root.getParameter('net.stem.kernel');
    const decoded = kernel.read().dataSync().slice() as Float32Array;
    const handle = applyGroupOffloading(root, { offloadType: 'leaf_level' });
    expect(kernel.tier).toBe('host');
    expect(kernel.tierByteLength).toBe(kernel.size);
    expect(sameBits(kernel.hostData(), decoded)).toBe(true);
    const host0 = memory.stats().hostBytes;
    const fresh = tf.fill(kernel.shape as number[], 0.25);
    kernel.assign(fresh);
    fresh.dispose();
    expect(memory.stats().hostBytes - host0).toBe(kernel.size * 3);
    expect(kernel.shippedCodes()).toBeUndefined();
    expect(root.memoryFootprint().host).toBe(bytes.shipped + kernel.size * 3);
    run(model, x);
    handle.remove();
    expect(Array.from(kernel.read().dataSync()).every((v) => v === 0.25)).toBe(true);
    // A weight still holding codes is cast from their decoded values.
    const bias = root.getParameter('net.block1.conv.bias');
    const values = bias.read().dataSync().slice() as Float32Array;
    expect(bias.shippedCodes()).toBeDefined();
    bias.castStorage('bfloat16');
    expect(Array.from(bias.packedCodes().words)).toEqual(Array.from(encodePacked('bfloat16', values).words));
    bias.restoreFloat32Storage();
    x.dispose();
  });

  it("refuses, naming the weight, when a weight's codes do not decode to the model's tensor; nothing changes", async () => {
    const { model } = await load();
    const x = fixtureInput();
    const reference = run(model, x);
    // The weight the model holds no longer matches what its artifacts ship (one code changed after loading).
    const data = keptArtifacts(model).weightData as ArrayBuffer[];
    new Uint8Array(data[0]!)[3]! ^= 1;
    const host0 = memory.stats().hostBytes;
    const tensors = tf.memory().numTensors;
    expect(() => wrapGraphModel(model, { hostWeights: 'shipped' })).toThrow(InvalidArgumentError);
    expect(() => wrapGraphModel(model, { hostWeights: 'shipped' })).toThrow(/weight "net\/stem\/kernel" do not decode/);
    expect(getWrappedGraphModule(model)).toBeUndefined();
    expect(memory.stats().hostBytes).toBe(host0);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(sameBits(run(model, x), reference)).toBe(true);
    // The default still wraps it.
    expect(wrapGraphModel(model).parameters().length).toBe(Object.keys(QUANTIZATION).length);
    x.dispose();
  });

  it('refuses unknown option keys and values, changing nothing', async () => {
    const { model } = await load();
    expect(() => wrapGraphModel(model, { hostWeight: 'shipped' } as never)).toThrow(/`hostWeight` \(did you mean `hostWeights`\?\)/);
    expect(() => wrapGraphModel(model, { hostWeights: 'uint8' } as never)).toThrow(/hostWeights.*'uint8'.*'float32'.*'shipped'/s);
    expect(() => wrapGraphModel(model, 'shipped' as never)).toThrow(InvalidArgumentError);
    expect(getWrappedGraphModule(model)).toBeUndefined();
    expect(wrapGraphModel(model, { hostWeights: 'float32' })).toBeDefined();
  });
});
