import * as tf from '@tensorflow/tfjs-core';
import { HookRegistry, Linear, ModelHook, Sequential, useBackend, type Module } from 'memhooks';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');

class Trace extends ModelHook {
  override preForward(m: Module, args: unknown[]) { console.log('enter', m.path); return args; }
  override postForward(m: Module, out: unknown) { console.log('leave', m.path); return out; }
}

const model = new Sequential([new Linear(16, 32), new Linear(32, 16)]);
const x = tf.randomNormal([2, 16]);
{
  const registry = HookRegistry.checkIfExistsOrInitialize(model.getSubmodule('1'));
  using _handle = registry.registerHook(new Trace(), 'trace'); // removed at the end of this block
  const y = model.forward(x) as tf.Tensor;                    // prints "enter 1", "leave 1"
  y.dispose();
}
x.dispose();
model.dispose();
