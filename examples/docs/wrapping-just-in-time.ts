import { HookRegistry, ModelHook, memory, unwrapLayersModel, useBackend, wrapLayersModel, type Module } from 'memhooks';
import { loadPretrained } from 'memhooks/zoo';
import * as tf from '@tensorflow/tfjs-core';

await useBackend(process.env.MEMHOOKS_BACKEND ?? 'wasm');
const model = await loadPretrained('upscaler-esrgan-2x');   // or: await tf.loadLayersModel(url)
const root = wrapLayersModel(model);

class JustInTime extends ModelHook {                          // weights on the device only during the layer's call
  override preForward(m: Module, args: unknown[]) { for (const p of m.parameters()) p.toDevice(); return args; }
  override postForward(m: Module, out: unknown) { for (const p of m.parameters()) p.toHost(); return out; }
  override onForwardError(m: Module) { for (const p of m.parameters()) p.toHost(); }
}
for (const m of root.modules()) if (m.parameters({ recurse: false }).length > 0) HookRegistry.checkIfExistsOrInitialize(m).registerHook(new JustInTime(), 'jit');
const before = memory.stats().deviceBytes;
for (const p of root.parameters()) p.toHost();
console.log(before - memory.stats().deviceBytes);            // 888300: every weight left the device
const image = tf.randomUniform([1, 32, 32, 3], 0, 255);
const y = model.predict(image) as tf.Tensor;                  // same bits as before wrapping

unwrapLayersModel(model);                                     // hooks gone, weights back on the device
tf.dispose([image, y]);
model.dispose();
