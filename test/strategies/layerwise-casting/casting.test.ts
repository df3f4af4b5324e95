import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, events, HookRegistry, memory, MemhooksError, type Module } from '../../../src/index.js';
import { LOW_PRECISION_DTYPES } from '../../../src/dtypes/formats.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { bitsOf, CAST_BY_DEFAULT, Caster, copyWeights, ids, roundTrip } from './models.js';
import { expectSameForwards } from './forwards.js';

const BYTES = { float16: 2, bfloat16: 2, float8_e4m3fn: 1, float8_e5m2: 1 } as const;

describe.each(BACKENDS)('layerwise casting on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));
  const make = (): Caster => {
    const m = new Caster();
    models.push(m);
    return m;
  };

  describe.each(LOW_PRECISION_DTYPES)('%s', (dtype) => {
    it('gives the float32 forward of the decoded weights bitwise, without leaking, at the stated resident bytes', () => {
      const model = make();
      const reference = make();
      copyWeights(model, reference, CAST_BY_DEFAULT, dtype);
      const x = ids();
      const expected = reference.forward(x) as tf.Tensor;
      const castBytes = CAST_BY_DEFAULT.reduce((n, path) => n + model.getParameter(path).size * 4, 0);
      const before = model.memoryFootprint().device;
      const deviceBefore = memory.stats().deviceBytes;

      const handle = applyLayerwiseCasting(model, { storageDtype: dtype });

      for (const [path, p] of model.namedParameters()) {
        expect(p.storageDtype, path).toBe(CAST_BY_DEFAULT.includes(path) ? dtype : p.dtype);
      }
      // Exactly a half or a quarter of the float32 bytes for the cast weights, in the footprint and on the device.
      const saved = castBytes - (castBytes / 4) * BYTES[dtype];
      expect(model.memoryFootprint()).toEqual({ device: before - saved, host: 0, disk: 0 });
      expect(deviceBefore - memory.stats().deviceBytes).toBe(saved);

      expectSameForwards(model, x, expected);
      // Between forwards only the codes stay on the device.
      expect(deviceBefore - memory.stats().deviceBytes).toBe(saved);
      handle.remove();
      tf.dispose([x, expected]);
    });
  });

  it('holds one leaf in float32 at a time: the peak of a forward is the codes plus the largest decoded leaf, far below float32', () => {
    const model = make();
    const x = ids();
    applyLayerwiseCasting(model, { storageDtype: 'float8_e4m3fn' });
    const start = memory.stats().deviceBytes;
    const { peakDeviceBytes } = memory.track(() => tf.dispose(model.forward(x)));
    const largestLeaf = model.getParameter('head.weight').size * 4 + model.getParameter('head.bias').size * 4;
    const allDecoded = CAST_BY_DEFAULT.reduce((n, path) => n + model.getParameter(path).size * 4, 0);
    expect(peakDeviceBytes - start).toBeGreaterThanOrEqual(largestLeaf);
    expect(peakDeviceBytes - start).toBeLessThan(allDecoded);
    x.dispose();
  });

  it('remove() restores float32 storage holding the decoded values, with no hook left, and a second apply works', () => {
    const model = make();
    const original = new Map(model.namedParameters().map(([path, p]) => [path, p.read().dataSync().slice()]));
    const bytes = memory.stats().deviceBytes;
    expectNoLeaks(() => {
      const handle = applyLayerwiseCasting(model, { storageDtype: 'bfloat16' });
      handle.remove();
      expect(handle.removed).toBe(true);
    });
    expect(memory.stats().deviceBytes).toBe(bytes);
    for (const m of model.modules()) expect(HookRegistry.get(m)?.getHook('layerwise_casting')).toBeUndefined();
    for (const [path, p] of model.namedParameters()) {
      expect(p.storageDtype).toBe(p.dtype);
      const values = p.read().dataSync();
      const want = CAST_BY_DEFAULT.includes(path) ? roundTrip(original.get(path) as Float32Array, 'bfloat16') : original.get(path)!;
      expect(Array.from(values), path).toEqual(Array.from(want));
    }
    // Lossy once: casting the rounded values again changes nothing more.
    const again = applyLayerwiseCasting(model, { storageDtype: 'bfloat16' });
    const x = ids();
    const out = model.forward(x) as tf.Tensor;
    again.remove();
    const plain = model.forward(x) as tf.Tensor;
    expect(bitsOf(out)).toEqual(bitsOf(plain));
    tf.dispose([x, out, plain]);
  });

  it('reading a cast weight outside its forward says what to do, and a throwing forward leaves nothing decoded', () => {
    const model = make();
    applyLayerwiseCasting(model);
    const weight = model.getParameter('head.weight');
    expect(() => weight.read()).toThrow(MemhooksError);
    expect(() => weight.read()).toThrow(/stored as float8_e4m3fn \(layerwise casting\).*Call that module's forward/);
    const bad = tf.zeros([2, 3]);
    expectNoLeaks(() => {
      expect(() => model.head.forward(bad)).toThrow(/\[\.\.\., 32\]/);
      expect(weight.hasDecoded).toBe(false);
    });
    bad.dispose();
  });

  it('disposing the model with casting applied releases the codes; the handle can still be removed', () => {
    const handle = expectNoLeaks(() => {
      const model = new Caster();
      const cast = applyLayerwiseCasting(model);
      model.dispose();
      return cast;
    });
    expect(() => handle.remove()).not.toThrow();
  });

  it('emits a cast event per decoded leaf with its float32 bytes', () => {
    const model = make();
    applyLayerwiseCasting(model, { storageDtype: 'float16' });
    const seen: Array<{ path: string; bytes: number }> = [];
    const listener = (e: { path: string; bytes: number }): void => void seen.push({ path: e.path, bytes: e.bytes });
    events.on('cast', listener);
    const x = ids();
    tf.dispose(model.forward(x));
    events.off('cast', listener);
    expect(seen.map((e) => e.path)).toEqual(['embed', 'blocks.0.ff', 'blocks.1.ff', 'conv', 'head']);
    expect(seen.find((e) => e.path === 'head')!.bytes).toBe((32 * 4 + 4) * 4);
    x.dispose();
  });
});
