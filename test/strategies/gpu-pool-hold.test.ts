import * as tf from '@tensorflow/tfjs-core';
// Registers the webgl flags (the backend itself is never started here): the threshold flag must exist to be set.
import '@tensorflow/tfjs-backend-webgl';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyBatchSlicing, applyGroupOffloading, applyLayerwiseCasting, applyStrategy, memory, Module, MemhooksError, strategy } from '../../src/index.js';
import { createContainer, Strategy, type Undo } from '../../src/plugin.js';
import { gpuPoolHolds, holdGpuPoolsEmpty, WEBGL_DELETE_TEXTURE_THRESHOLD as FLAG } from '../../src/runtime/gpuPool.js';
import { Blocky } from './group-offloading/models.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { thrown } from '../helpers/thrown.js';

/** Whether the threshold flag is set, and to what: absent means tfjs' default (-1, never delete) applies. */
function thresholdFlag(): { set: boolean; value?: unknown } {
  const flags = tf.env().getFlags();
  return Object.hasOwn(flags, FLAG) ? { set: true, value: flags[FLAG] } : { set: false };
}

/**
 * The hold that keeps the GPU pools empty while offloading is applied (src/runtime/gpuPool.ts), taken by
 * applyStrategy for the offloading strategies. What it does to textures is tested in a page
 * (test/browser/memory-offload-gpu.test.ts); here, on the Node backends, when it is taken and given back.
 */
describe('the GPU pool hold', () => {
  afterEach(() => {
    expect(gpuPoolHolds()).toBe(0);
    delete tf.env().getFlags()[FLAG];
  });

  it('nests: the threshold is 0 while any hold is taken, and restored exactly after the last', () => {
    for (const userValue of [undefined, 4096]) {
      if (userValue !== undefined) tf.env().set(FLAG, userValue);
      const before = thresholdFlag();
      const first = holdGpuPoolsEmpty();
      const second = holdGpuPoolsEmpty();
      expect(tf.env().getNumber(FLAG)).toBe(0);
      first();
      first();
      expect(gpuPoolHolds()).toBe(1);
      expect(tf.env().getNumber(FLAG)).toBe(0);
      second();
      expect(thresholdFlag()).toEqual(before);
    }
  });
});

describe.each(BACKENDS)('offloading strategies hold the GPU pools empty while applied, on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const models: Module[] = [];
  afterEach(() => {
    memory.setDeviceBudget(undefined);
    models.splice(0).forEach((m) => m.dispose());
    expect(gpuPoolHolds()).toBe(0);
    expect(thresholdFlag()).toEqual({ set: false });
  });
  const make = (): Blocky => {
    const m = new Blocky(16);
    models.push(m);
    return m;
  };

  it('from apply to the last remove(); casting takes one (its decoded values must leave the GPU); batch slicing takes none', () => {
    const a = make();
    const b = make();
    const casting = applyLayerwiseCasting(a.head, { storageDtype: 'float16' });
    expect(gpuPoolHolds()).toBe(1);
    const ha = applyGroupOffloading(a.blocks, { offloadType: 'leaf_level' });
    const hb = applyGroupOffloading(b, { offloadType: 'block_level', numBlocksPerGroup: 1 });
    expect([gpuPoolHolds(), tf.env().getNumber(FLAG)]).toEqual([3, 0]);
    hb.remove();
    hb.remove();
    expect([gpuPoolHolds(), tf.env().getNumber(FLAG)]).toEqual([2, 0]);
    ha.remove();
    casting.remove();
    expect(gpuPoolHolds()).toBe(0);
    const slicing = applyBatchSlicing(b, { sliceSize: 1 });
    expect(gpuPoolHolds()).toBe(0);
    slicing.remove();
  });

  it('kept while a remove() is refused, given back when the module is disposed', () => {
    const a = make();
    const b = make();
    const ha = applyGroupOffloading(a, { offloadType: 'leaf_level' });
    applyGroupOffloading(b, { offloadType: 'leaf_level' });
    // Coming off needs every group back on the device: a budget below that refuses the removal.
    memory.setDeviceBudget(1);
    expect(thrown(() => ha.remove())).toBeInstanceOf(MemhooksError);
    expect([ha.removed, gpuPoolHolds()]).toEqual([false, 2]);
    memory.setDeviceBudget(undefined);
    ha.remove();
    expect(gpuPoolHolds()).toBe(1);
    b.dispose();
    expect(gpuPoolHolds()).toBe(0);
  });

  it('given back when apply fails; a plugin that frees device memory takes one as the built-ins do', () => {
    const container = createContainer();
    let holdsInApply = -1;
    @strategy('my_offload', { container })
    class MyOffload extends Strategy<{ fail: boolean }> {
      override readonly freesDeviceMemory = true;
      override apply(_m: Module, options: { fail: boolean }): Undo {
        holdsInApply = gpuPoolHolds();
        if (options.fail) throw new MemhooksError('INVALID_ARGUMENT', 'refused on purpose');
        return { remove() {} };
      }
    }
    expect(MyOffload.name).toBe('MyOffload');
    expect(thrown(() => applyStrategy(make(), 'my_offload' as never, { fail: true } as never, { container }))).toBeInstanceOf(MemhooksError);
    expect([holdsInApply, gpuPoolHolds()]).toEqual([1, 0]);
    const handle = applyStrategy(make(), 'my_offload' as never, { fail: false } as never, { container });
    expect([holdsInApply, gpuPoolHolds(), tf.env().getNumber(FLAG)]).toEqual([1, 1, 0]);
    handle.remove();
  });
});
