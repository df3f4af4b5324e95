import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, beforeAll } from 'vitest';
import { Module, Parameter, module, HookRegistry, ModelHook, memory } from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';

@module()
class Tiny extends Module {
  w = new Parameter(tf.ones([2, 2]));
  forward(x: tf.Tensor) { return tf.matMul(x, this.w.read()); }
}

describe.each(BACKENDS)('smoke on %s', (backend) => {
  beforeAll(async () => { await useBackend(backend); });
  it('runs', () => {
    const m = new Tiny();
    class H extends ModelHook {}
    {
      using h = HookRegistry.checkIfExistsOrInitialize(m).registerHook(new H(), 'h');
      expect(HookRegistry.get(m)!.hookOrder).toEqual(['h']);
    }
    expect(HookRegistry.get(m)!.hookOrder).toEqual([]);
    const y = m.forward(tf.ones([1, 2]));
    expect(Array.from(y.dataSync())).toEqual([2, 2]);
    expect(tf.getBackend()).toBe(backend);
    console.log(memory.stats());
  });
});
