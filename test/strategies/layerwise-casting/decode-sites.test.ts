import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyLayerwiseCasting, Parameter, type Module } from '../../../src/index.js';
import { decodeInto } from '../../../src/dtypes/decode.js';
import { decodeOnDevice, decodeOnHost } from '../../../src/strategies/layerwise-casting/decodeSites.js';
import { defaultDecodeSite } from '../../../src/strategies/layerwise-casting/options.js';
import { LOW_PRECISION_DTYPES } from '../../../src/dtypes/formats.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { bitsOf, Caster, copyWeights, ids } from './models.js';

/** A parameter whose codes are every code of the format (all but the last, so the packed words have padding). */
function everyCode(dtype: (typeof LOW_PRECISION_DTYPES)[number]): Parameter {
  const count = dtype.startsWith('float8') ? 256 : 65536;
  const codes = count === 256 ? new Uint8Array(count - 1) : new Uint16Array(count - 1);
  for (let c = 0; c < codes.length; c++) codes[c] = c;
  // NaN codes re-encode to one canonical NaN code; every other code encodes back to itself.
  const p = new Parameter(tf.tensor(decodeInto(dtype, codes, new Float32Array(codes.length)), [codes.length]));
  return p.castStorage(dtype);
}

describe.each(BACKENDS)('decode sites on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => models.splice(0).forEach((m) => m.dispose()));

  it.each(LOW_PRECISION_DTYPES)('%s: decoding on the device with int32 ops equals decoding on the host, for every code', (dtype) => {
    const p = everyCode(dtype);
    // The packed words include negative int32 values (codes ≥ 0x80 / 0x8000 in the top position).
    expect(Array.from(p.packedTensor().dataSync()).some((w) => w < -(2 ** 24))).toBe(true);
    const [host, device] = expectNoLeaks(() => [decodeOnHost(p), decodeOnDevice(p)], { newTensors: 2 });
    const h = host.dataSync();
    const d = device.dataSync();
    let mismatches = 0;
    for (let i = 0; i < h.length; i++) {
      const same = Object.is(h[i], d[i]) || (Number.isNaN(h[i]) && Number.isNaN(d[i]));
      if (!same) mismatches++;
    }
    expect(mismatches).toBe(0);
    tf.dispose([host, device]);
    p.dispose();
  });

  it('the strategy gives the same output bitwise with either site', () => {
    const a = new Caster();
    const b = new Caster();
    models.push(a, b);
    copyWeights(a, b);
    applyLayerwiseCasting(a, { storageDtype: 'float8_e5m2', decodeSite: 'host' });
    applyLayerwiseCasting(b, { storageDtype: 'float8_e5m2', decodeSite: 'device' });
    const x = ids();
    expectNoLeaks(() => {
      const outA = a.forward(x) as tf.Tensor;
      const outB = b.forward(x) as tf.Tensor;
      expect(bitsOf(outA)).toEqual(bitsOf(outB));
      tf.dispose([outA, outB]);
    });
    x.dispose();
  });

  it("picks the host site on this backend (measured faster: bench/results/casting.md)", () => {
    expect(defaultDecodeSite(backend)).toBe('host');
    expect(defaultDecodeSite('webgl')).toBe('host');
    expect(defaultDecodeSite('webgpu')).toBe('host');
  });
});
