import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePacked, encodePacked } from '../../../src/dtypes/bulk.js';
import { InvalidArgumentError, memory, MemhooksError, Parameter } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';

const VALUES = new Float32Array([0.1, -2.5, 3.75, 1000, -0, 1e-4, 7]);
const rounded = (dtype: 'float16' | 'float8_e4m3fn'): number[] => Array.from(decodePacked(encodePacked(dtype, VALUES)));

describe.each(BACKENDS)('Parameter low-precision storage on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('casts on the device: int32 words, padded byteLength, device bytes, no float32 value until one is attached', () => {
    const p = new Parameter(tf.tensor1d(VALUES));
    const bytes = memory.stats().deviceBytes;
    p.castStorage('float8_e4m3fn');
    expect([p.storageDtype, p.dtype, p.tier, p.isLowPrecision]).toEqual(['float8_e4m3fn', 'float32', 'device', true]);
    expect(p.byteLength).toBe(8); // 7 codes in two words
    expect(bytes - memory.stats().deviceBytes).toBe(7 * 4 - 8);
    expect(p.packedTensor().dtype).toBe('int32');
    expect(p.peek()).toBeUndefined();
    expect(() => p.read()).toThrow(expect.objectContaining({ code: 'PARAMETER_LOW_PRECISION' }));
    const decoded = tf.tensor1d(decodePacked(p.packedCodes()));
    p.attachDecoded(decoded);
    expect(p.read()).toBe(decoded);
    expect(Array.from(p.read().dataSync())).toEqual(rounded('float8_e4m3fn'));
    p.detachDecoded();
    expect(decoded.isDisposed).toBe(true);
    p.dispose();
  });

  it('moves the words between tiers (host bytes are the codes) and restores float32 on either tier', () => {
    const p = new Parameter(tf.tensor1d(VALUES)).castStorage('float16');
    const host = memory.stats().hostBytes;
    p.toHost();
    expect(p.tier).toBe('host');
    expect(memory.stats().hostBytes - host).toBe(16);
    expect(p.hostData()).toBeInstanceOf(Int32Array);
    p.toDevice({ keepHostCopy: true });
    expect(Array.from(decodePacked(p.packedCodes()))).toEqual(rounded('float16'));
    p.toHost();
    p.restoreFloat32Storage();
    expect([p.tier, p.storageDtype]).toEqual(['host', 'float32']);
    expect(Array.from(p.hostData())).toEqual(rounded('float16'));
    expect(memory.stats().hostBytes - host).toBe(28);
    p.toDevice();
    expect(Array.from(p.read().dataSync())).toEqual(rounded('float16'));
    expect(memory.stats().hostBytes).toBe(host);
    p.dispose();
  });

  it('casts on the host too, and assign() re-encodes in the storage dtype', () => {
    const p = new Parameter({ data: VALUES.slice(), shape: [7] }).castStorage('float16');
    expect(p.hostData().length).toBe(4);
    const t = tf.tensor1d([1, 2, 3, 4, 5, 6, 65536]);
    p.assign(t);
    expect(Array.from(decodePacked(p.packedCodes()))).toEqual([1, 2, 3, 4, 5, 6, Infinity]);
    p.toDevice();
    p.assign(tf.tensor1d(VALUES));
    expect(Array.from(decodePacked(p.packedCodes()))).toEqual(rounded('float16'));
    t.dispose();
    p.dispose();
  });

  it('refuses what makes no sense, naming the parameter', () => {
    const ints = new Parameter(tf.tensor1d([1, 2], 'int32'), { label: 'ids' });
    expect(() => ints.castStorage('bfloat16')).toThrow(InvalidArgumentError);
    const p = new Parameter(tf.tensor1d(VALUES), { label: 'w' });
    expect(() => p.castStorage('int8' as never)).toThrow(/needs a low-precision dtype/);
    expect(() => p.attachDecoded(tf.zeros([7]))).toThrow(/only low-precision storage/);
    p.castStorage('bfloat16');
    expect(() => p.castStorage('float16')).toThrow(/stored as bfloat16; only float32 storage/);
    const wrong = tf.zeros([6]);
    expect(() => p.attachDecoded(wrong)).toThrow(MemhooksError);
    wrong.dispose();
    p.toHost();
    expect(() => p.packedTensor()).toThrow(/on the "host" tier/);
    ints.dispose();
    p.dispose();
  });

  it('keeps a Variable a Variable: restoring float32 re-creates it with its name and trainability', () => {
    const v = tf.variable(tf.tensor1d(VALUES), false, `lc_var_${backend}`);
    const p = new Parameter(v);
    p.castStorage('float8_e5m2').restoreFloat32Storage();
    const back = p.read();
    expect(back).toBeInstanceOf(tf.Variable);
    expect([(back as tf.Variable).name, (back as tf.Variable).trainable]).toEqual([`lc_var_${backend}`, false]);
    p.dispose();
  });
});
