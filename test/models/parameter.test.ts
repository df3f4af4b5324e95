import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memory, type MemhooksError, Parameter, ParameterNotResidentError } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

/** Float32 bit patterns that a lossy path would change: NaN payloads, −0, denormals, ±inf, extremes. */
function trickyFloats(): Float32Array {
  const bits = new Uint32Array([
    0x7fc00000, 0x7fa00001, 0xffc00123, 0x80000000, 0x00000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000,
    0x7f7fffff, 0xff7fffff, 0x3f800001, 0x33800000,
  ]);
  const random = new Float32Array(1000).map((_, i) => Math.sin(i * 12.9898) * 43758.5453);
  const out = new Float32Array(bits.length + random.length);
  out.set(new Float32Array(bits.buffer));
  out.set(random, bits.length);
  return out;
}

function bitsOf(a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

describe.each(BACKENDS)('Parameter on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('moves device → host → device bitwise exactly and leaves no tensor behind', () => {
    const values = trickyFloats();
    const before = tf.memory().numTensors;
    const p = new Parameter(tf.tensor(values, [values.length]), { label: 'tricky' });
    expect(p.tier).toBe('device');
    const deviceBefore = memory.stats().deviceBytes;
    const hostBefore = memory.stats().hostBytes;
    p.toHost();
    expect(p.tier).toBe('host');
    expect(tf.memory().numTensors).toBe(before);
    expect(memory.stats().deviceBytes).toBe(deviceBefore - values.byteLength);
    expect(memory.stats().hostBytes).toBe(hostBefore + values.byteLength);
    expect(bitsOf(p.hostData())).toEqual(bitsOf(values));
    p.toDevice();
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(memory.stats().hostBytes).toBe(hostBefore);
    expect(bitsOf(p.read().dataSync() as Float32Array)).toEqual(bitsOf(values));
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('moves int32 parameters exactly', () => {
    const values = new Int32Array([0, 1, -1, 2147483647, -2147483648, 16777217, -16777217]);
    const p = new Parameter(tf.tensor(values, [7], 'int32'));
    expect(p.dtype).toBe('int32');
    p.toHost();
    expect(p.hostData()).toBeInstanceOf(Int32Array);
    p.toDevice();
    expect(Array.from(p.read().dataSync())).toEqual(Array.from(values));
    p.dispose();
  });

  it('is idempotent per tier and reports shape, size and bytes', () => {
    const p = new Parameter(tf.zeros([3, 4]));
    expect(p.shape).toEqual([3, 4]);
    expect(p.size).toBe(12);
    expect(p.byteLength).toBe(48);
    expect(p.storageDtype).toBe('float32');
    const t = p.read();
    expect(p.toDevice().read()).toBe(t);
    p.toHost();
    const data = p.hostData();
    expect(p.toHost().hostData()).toBe(data);
    p.dispose();
  });

  it('throws a ParameterNotResidentError naming the parameter and its tier when read off the device', () => {
    const p = new Parameter(tf.zeros([2]), { label: 'blocks.0.weight' });
    p.toHost();
    let err: unknown;
    try {
      p.read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParameterNotResidentError);
    expect((err as MemhooksError).code).toBe('PARAMETER_NOT_RESIDENT');
    expect((err as Error).message).toMatch(/Parameter "blocks\.0\.weight" \[2\] is on the "host" tier.*outside the forward of the module whose hooks onload it/);
    expect(p.peek()).toBeUndefined();
    p.dispose();
    expect(() => p.read()).toThrow(/has been disposed/);
    const outside = new Parameter(tf.zeros([2]), { label: 'outside' });
    outside.read().dispose();
    expect(() => outside.read()).toThrow('Parameter "outside" [2] cannot be used: its tensor was disposed outside memhooks.');
    expect(() => outside.toHost()).toThrow(/disposed outside memhooks/);
  });

  it('survives the tidy scope it was created in', () => {
    // A forward returns tensors, not parameters: the parameters escape through a closure.
    let p!: Parameter;
    let q!: Parameter;
    tf.tidy(() => {
      p = new Parameter(tf.add(tf.ones([2]), tf.ones([2])));
    });
    expect(Array.from(p.read().dataSync())).toEqual([2, 2]);
    tf.tidy(() => {
      q = new Parameter(tf.ones([2]));
      q.toHost();
      q.toDevice();
    });
    expect(q.read().isDisposed).toBe(false);
    p.dispose();
    q.dispose();
  });

  it('keeps a tf.Variable a registered variable with its name and trainability across host round trips', () => {
    const v = tf.variable(tf.tensor([1, 2, 3]), false, 'my_layer/kernel');
    const p = new Parameter(v);
    expect(p.read()).toBe(v);
    expect(p.trainable).toBe(false);
    p.toHost();
    expect(tf.engine().registeredVariables['my_layer/kernel']).toBeUndefined();
    p.toDevice();
    const again = p.read();
    expect(again).toBeInstanceOf(tf.Variable);
    expect((again as tf.Variable).name).toBe('my_layer/kernel');
    expect((again as tf.Variable).trainable).toBe(false);
    expect(tf.engine().registeredVariables['my_layer/kernel']).toBe(again);
    expect(Array.from(again.dataSync())).toEqual([1, 2, 3]);
    p.dispose();
    expect(tf.engine().registeredVariables['my_layer/kernel']).toBeUndefined();
  });

  it('assigns new values on either tier and refuses mismatched shapes', () => {
    const p = new Parameter(tf.zeros([2]));
    const v = tf.tensor([5, 6]);
    p.assign(v);
    v.dispose();
    expect(Array.from(p.read().dataSync())).toEqual([5, 6]);
    p.toHost();
    const w = tf.tensor([7, 8]);
    p.assign(w);
    w.dispose();
    expect(Array.from(p.hostData())).toEqual([7, 8]);
    const wrong = tf.zeros([3]);
    expect(() => p.assign(wrong)).toThrow(/Cannot assign a float32 tensor of shape \[3\] to parameter/);
    wrong.dispose();
    const variable = new Parameter(tf.variable(tf.zeros([2])));
    const held = variable.read();
    const x = tf.tensor([1, 1]);
    variable.assign(x);
    x.dispose();
    expect(variable.read()).toBe(held);
    expect(Array.from(held.dataSync())).toEqual([1, 1]);
    p.dispose();
    variable.dispose();
  });

  it('starts on the host from a typed array', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const p = Parameter.fromHost(data, [2, 2]);
    expect(p.tier).toBe('host');
    expect(p.hostData()).not.toBe(data);
    p.toDevice();
    expect(Array.from(p.read().dataSync())).toEqual([1, 2, 3, 4]);
    expect(() => Parameter.fromHost(data, [3])).toThrow(/got 4 values for shape \[3\]/);
    p.dispose();
  });

  it('refuses values it cannot hold', () => {
    expect(() => new Parameter(42 as unknown as tf.Tensor)).toThrow(/needs a tf.Tensor or \{ data/);
    const b = tf.tensor([true, false], [2], 'bool');
    expect(() => new Parameter(b)).toThrow(/has dtype "bool"/);
    b.dispose();
    const gone = tf.zeros([1]);
    gone.dispose();
    expect(() => new Parameter(gone)).toThrow(/disposed tensor/);
  });
});

describe.each(BACKENDS)('Parameter ownership on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('remembers a trainable flag changed on the live variable, and can set it on any tier', () => {
    const v = tf.variable(tf.zeros([2]), true, 'flag/kernel');
    const p = new Parameter(v);
    v.trainable = false;
    p.toHost();
    p.toDevice();
    expect((p.read() as tf.Variable).trainable).toBe(false);
    p.toHost();
    p.trainable = true;
    p.toDevice();
    expect((p.read() as tf.Variable).trainable).toBe(true);
    p.dispose();
    expect(() => {
      new Parameter(tf.zeros([1])).trainable = true;
    }).toThrow(/not created from a tf.Variable/);
  });

  it('treats assigning a variable its own value as a no-op', () => {
    const p = new Parameter(tf.variable(tf.tensor([1, 2]), true, 'self/assign'));
    p.toHost();
    p.toDevice();
    p.assign(p.read());
    expect(Array.from(p.read().dataSync())).toEqual([1, 2]);
    p.toHost();
    expect(Array.from(p.hostData())).toEqual([1, 2]);
    p.dispose();
  });

  it('releases its tensor without disposing it', () => {
    const t = tf.ones([3]);
    const p = new Parameter(t);
    expect(p.release()).toBe(t);
    expect(t.isDisposed).toBe(false);
    expect(p.isDisposed).toBe(true);
    p.dispose();
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });
});

describe.each(BACKENDS)('Parameter host copies on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('keeps the host copy at onload so that offloading is a dispose, still exact', () => {
    const values = trickyFloats();
    const p = Parameter.fromHost(values, [values.length]);
    const host = p.hostData();
    const hostBytes = memory.stats().hostBytes;
    expectNoLeaks(() => {
      p.toDevice({ keepHostCopy: true });
      expect(p.hasHostCopy).toBe(true);
      expect(memory.stats().hostBytes).toBe(hostBytes);
      expect(bitsOf(p.read().dataSync() as Float32Array)).toEqual(bitsOf(values));
      p.toHost();
      // No readback: the very array kept at onload is the host copy again.
      expect(p.hostData()).toBe(host);
    });
    p.toDevice();
    expect(p.hasHostCopy).toBe(false);
    expect(memory.stats().hostBytes).toBe(hostBytes - values.byteLength);
    p.dispose();
  });

  it('keeps a kept host copy equal to the device after assign, without touching arrays others may hold', () => {
    const p = Parameter.fromHost(new Float32Array([1, 2]), [2]);
    const old = p.hostData();
    p.toDevice({ keepHostCopy: true });
    const view = tf.reshape(p.read(), [2, 1]);
    const v = tf.tensor([5, 6]);
    p.assign(v);
    v.dispose();
    expect(Array.from(old)).toEqual([1, 2]);
    expect(Array.from(view.dataSync())).toEqual([1, 2]);
    p.toHost();
    expect(Array.from(p.hostData())).toEqual([5, 6]);
    const w = tf.tensor([7, 8]);
    const hostBefore = p.hostData();
    p.assign(w);
    w.dispose();
    expect(Array.from(hostBefore)).toEqual([5, 6]);
    expect(Array.from(p.hostData())).toEqual([7, 8]);
    const hostBytes = memory.stats().hostBytes;
    p.toDevice({ keepHostCopy: true });
    p.dispose();
    expect(memory.stats().hostBytes).toBe(hostBytes - 8);
    view.dispose();
  });
});

describe.each(BACKENDS)('Parameter kept host copies and outside writes on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('reads the device back when the variable was assigned outside memhooks (an optimizer step)', () => {
    const p = new Parameter(tf.variable(tf.tensor([1, 2, 3]), true, 'kept/outside'));
    p.toHost();
    p.toDevice({ keepHostCopy: true });
    const update = tf.tensor([10, 20, 30]);
    (p.read() as tf.Variable).assign(update);
    update.dispose();
    const hostBytes = memory.stats().hostBytes;
    p.toHost();
    expect(Array.from(p.hostData())).toEqual([10, 20, 30]);
    expect(memory.stats().hostBytes).toBe(hostBytes);
    p.toDevice();
    expect(Array.from(p.read().dataSync())).toEqual([10, 20, 30]);
    p.dispose();
  });
});
