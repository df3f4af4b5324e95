import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applySequentialOffload, memory, Module, Parameter } from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { scratchDirs } from '../../helpers/scratch.js';
import { ConvNet, expectBitwise, expectSameWeights, hookNames, snapshotWeights, tiers } from './models.js';

class Scale extends Module {
  constructor(public w: Parameter) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.w.read());
  }
}

/** One weight owned by three modules (the root and two children), plus a weight of its own. */
class Tied extends Module {
  w = new Parameter(tf.randomUniform([4], 0.5, 1.5, 'float32', 8));
  s1 = new Scale(this.w);
  s2 = new Scale(new Parameter(tf.randomUniform([4], 0.5, 1.5, 'float32', 9)));
  s3 = new Scale(this.w);
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(this.s3.forward(this.s2.forward(this.s1.forward(x))), this.w.read());
  }
}

describe.each(BACKENDS)('applySequentialOffload to disk on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  const scratch = scratchDirs('memhooks-seqdisk-');
  const tmp = () => join(scratch(), 'offload');

  it('keeps each module’s weights in its own file, nothing in host memory, bitwise, and remove() deletes the files', () => {
    const model = new ConvNet();
    const x = tf.randomNormal([1, 5, 5, 3], 0, 1, 'float32', 1);
    const expected = model.forward(x);
    const weights = snapshotWeights(model);
    const { hostBytes, diskBytes } = memory.stats();
    expectNoLeaks(() => {
      const dir = tmp();
      const handle = applySequentialOffload(model, { offloadToDiskPath: dir });
      expect(tiers(model)).toEqual(['disk']);
      expect(memory.stats().hostBytes).toBe(hostBytes);
      expect(memory.stats().diskBytes - diskBytes).toBeGreaterThan(model.memoryFootprint().disk);
      // One file per module that owns weights.
      expect(readdirSync(dir).length).toBe(model.modules().filter((m) => m.parameters({ recurse: false }).length > 0).length);
      for (let i = 0; i < 3; i++) {
        const y = model.forward(x);
        expectBitwise(y, expected);
        y.dispose();
      }
      expect(tiers(model)).toEqual(['disk']);
      expect(memory.stats().hostBytes).toBe(hostBytes);
      handle.remove();
      expect(existsSync(dir)).toBe(false);
      expect(memory.stats().diskBytes).toBe(diskBytes);
      expect(tiers(model)).toEqual(['device']);
      expect(hookNames(model)).toEqual([]);
    });
    expectSameWeights(weights, snapshotWeights(model));
    tf.dispose([x, expected]);
    model.dispose();
  });

  it('keeps a weight shared by several modules in host memory, and refuses a file changed behind its back', () => {
    const model = new Tied();
    const x = tf.randomNormal([2, 4], 0, 1, 'float32', 2);
    const expected = model.forward(x);
    const dir = tmp();
    const handle = applySequentialOffload(model, { offloadToDiskPath: dir });
    expect(model.w.tier).toBe('host');
    expect(model.s2.w.tier).toBe('disk');
    const y = model.forward(x);
    expectBitwise(y, expected);
    for (const f of readdirSync(dir)) writeFileSync(join(dir, f), 'tampered');
    const { diskBytes } = memory.stats();
    expect(() => model.forward(x)).toThrow(/cannot read the weights of module "s2" back from .*Do not modify offloadToDiskPath/);
    expect(model.w.tier).toBe('host');
    // remove() reads every file before changing anything: it refuses, and the hooks stay.
    expect(() => handle.remove()).toThrow(/cannot read the weights/);
    expect(hookNames(model).length).toBe(4);
    // Disposing the model releases its files.
    model.dispose();
    expect(existsSync(dir)).toBe(false);
    expect(memory.stats().diskBytes).toBeLessThan(diskBytes);
    tf.dispose([x, y, expected]);
  });
});
