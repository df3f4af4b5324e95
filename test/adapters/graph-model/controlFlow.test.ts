import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyGroupOffloading,
  applyLayerwiseCasting,
  applySequentialOffload,
  cpuOffloadWithHook,
  ERROR_CODES,
  HookRegistry,
  Linear,
  ModelHook,
  UnsupportedModelError,
  unwrapGraphModel,
  wrapGraphModel,
  type Module,
  type NextForward,
} from '../../../src/index.js';
import { BACKENDS, useBackend } from '../../helpers/backends.js';
import { expectNoLeaks } from '../../helpers/leaks.js';
import { LogHook } from '../../helpers/modules.js';
import { loadRealGraphModel } from '../../helpers/realModels.js';
import { sameBits } from '../../wrap/fixtures.js';

// handtrack-human (@vladmandic/human): a while loop over TensorLists and non-max suppression, so tfjs runs it only
// through executeAsync, in an order it decides as it goes. Wrapped, it runs as a whole: the root's hooks around the
// executor's own execution; every scope below refuses hooks.

/** A small input (any size works for this detector): a ramp of pixels, the same on every backend. */
function image(): tf.Tensor {
  return tf.tensor(Int32Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7) % 256), [1, 64, 64, 3], 'int32');
}

async function outputsOf(model: GraphModel, x: tf.Tensor): Promise<Float32Array[]> {
  const out = (await model.executeAsync(x)) as tf.Tensor[];
  const data = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return data;
}

function expectSameOutputs(got: Float32Array[], reference: Float32Array[], label: string): void {
  expect(got.length, label).toBe(reference.length);
  got.forEach((g, i) => expect(sameBits(g, reference[i]!), `${label}, output ${i}`).toBe(true));
}

/** Every weight's tier and stored tensor, to show that a refused call changed nothing. */
function snapshot(root: Module): Array<[string, tf.Tensor | undefined]> {
  return root.namedParameters().map(([path, p]) => [`${path}@${p.tier}`, p.peek()]);
}

class ReplacingHook extends ModelHook {
  override newForward(_m: Module, args: any[], next: NextForward): any {
    return next(...args);
  }
}

describe.each(BACKENDS)('wrapGraphModel on a graph with control flow (handtrack-human) on %s', (backend) => {
  let reference: Float32Array[] = [];
  const models: GraphModel[] = [];
  beforeAll(async () => {
    await useBackend(backend);
    const model = await loadRealGraphModel('handtrack-human');
    const x = image();
    reference = await outputsOf(model, x);
    x.dispose();
    model.dispose();
  }, 120_000);
  afterEach(() => {
    for (const m of models.splice(0)) {
      unwrapGraphModel(m);
      m.dispose();
    }
  });

  async function load(): Promise<GraphModel> {
    const model = await loadRealGraphModel('handtrack-human');
    models.push(model);
    return model;
  }

  it('wraps it as a whole: root.controlFlow names the loop and dynamic nodes, no device byte added, the unwrapped bits', async () => {
    const model = await load();
    const x = image();
    const bytes = tf.memory().numBytes;
    const root = wrapGraphModel(model);
    expect(tf.memory().numBytes).toBe(bytes);
    const flow = root.controlFlow!;
    const ops = new Set(flow.nodes.map((n) => n.op));
    for (const op of ['Enter', 'Merge', 'Switch', 'LoopCond', 'NextIteration', 'Exit', 'TensorListReserve', 'NonMaxSuppressionV5']) expect(ops, op).toContain(op);
    expect(flow.strategies.join(' ')).toMatch(/cpuOffloadWithHook.*applyGroupOffloading/);
    // The scopes still read like a layer list, each weight held once, and all share the same description.
    expect(root.namedModules().length).toBeGreaterThan(10);
    expect(root.namedModules().every(([, m]) => (m as typeof root).controlFlow === flow)).toBe(true);
    expect(new Set(root.parameters()).size).toBe(Object.values(model.weights).filter((ts) => ts[0]!.dtype === 'float32').length);
    // No hook: the executor's own execution; a hook of one's own on the root: runs once around it.
    await expectNoLeaks(async () => expectSameOutputs(await outputsOf(model, x), reference, 'no hook'));
    const log: string[] = [];
    const handle = HookRegistry.checkIfExistsOrInitialize(root).registerHook(new LogHook('root', log), 'log');
    await expectNoLeaks(async () => expectSameOutputs(await outputsOf(model, x), reference, 'root hook'));
    expect(log).toEqual(['root.pre', 'root.post']);
    handle.remove();
    // No weight moved: unwrapping gives the executor back the very tensors it had, and its own methods.
    const before = Object.fromEntries(root.namedParameters().map(([, p]) => [p.label, p.peek()]));
    unwrapGraphModel(model);
    for (const [k, t] of Object.entries(before)) expect(model.weights[k]![0], k).toBe(t);
    expect(Object.getOwnPropertyNames((model as unknown as { executor: object }).executor)).not.toContain('executeAsync');
    expectSameOutputs(await outputsOf(model, x), reference, 'unwrapped');
    x.dispose();
  }, 120_000);

  it('model offload on the root: bitwise over several executeAsync calls, weights off the device after offload(), no leak; unwrap exact', async () => {
    const model = await load();
    const x = image();
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    const tensors = tf.memory().numTensors;
    const handle = cpuOffloadWithHook(root);
    expect(root.memoryFootprint()).toEqual({ device: 0, host: resident, disk: 0 });
    await expectNoLeaks(async () => {
      for (let i = 0; i < 3; i++) {
        expectSameOutputs(await outputsOf(model, x), reference, `call ${i}`);
        // Model offload keeps the model on the device after its call, until offload() or the next model of a chain.
        expect(root.memoryFootprint().device).toBe(resident);
        handle.offload();
        expect(root.memoryFootprint().device, `after offload(), call ${i}`).toBe(0);
      }
    }, { newTensors: 0 });
    // Offloaded, the weights' device tensors are gone: the model holds fewer tensors than it did resident.
    expect(tf.memory().numTensors).toBeLessThan(tensors);
    handle.remove();
    expect(root.memoryFootprint().device).toBe(resident);
    // Unwrapped: the executor's own methods, reading the Parameters' current tensors (the weights moved).
    const current = Object.fromEntries(root.namedParameters().map(([, p]) => [p.label, p.peek()]));
    unwrapGraphModel(model);
    for (const [k, t] of Object.entries(current)) expect(model.weights[k]![0], k).toBe(t);
    expect(Object.getOwnPropertyNames((model as unknown as { executor: object }).executor)).not.toContain('executeAsync');
    expectSameOutputs(await outputsOf(model, x), reference, 'unwrapped');
    x.dispose();
  }, 120_000);

  it('group offloading at block level: the whole model is one group (a graph has no ModuleList), bitwise, off the device between calls', async () => {
    const model = await load();
    const x = image();
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    // A call takes seconds on cpu: there the streamed configuration only.
    for (const useStream of backend === 'cpu' ? [true] : [false, true]) {
      await expectNoLeaks(async () => {
        const handle = applyGroupOffloading(root, { offloadType: 'block_level', numBlocksPerGroup: 1, useStream });
        expectSameOutputs(await outputsOf(model, x), reference, `stream ${useStream}`);
        expect(root.memoryFootprint().device, `stream ${useStream}`).toBe(0);
        // Two calls at once: the group's post-forward offload of the first never runs under the second.
        const both = await Promise.all([outputsOf(model, x), outputsOf(model, x)]);
        both.forEach((got, i) => expectSameOutputs(got, reference, `stream ${useStream}, concurrent call ${i}`));
        expect(root.memoryFootprint().device, `stream ${useStream}, after the concurrent calls`).toBe(0);
        handle.remove();
      });
      expect(root.memoryFootprint().device).toBe(resident);
    }
    x.dispose();
  }, 120_000);

  it('refuses every strategy that hooks a scope, naming the nodes and what still works, and changes nothing', async () => {
    const model = await load();
    const root = wrapGraphModel(model);
    const before = snapshot(root);
    const tensors = tf.memory().numTensors;
    const attempts: Array<[string, () => unknown]> = [
      ['group offloading, leaf level', () => applyGroupOffloading(root, { offloadType: 'leaf_level' })],
      ['group offloading, a scope as a block', () => applyGroupOffloading(root, { offloadType: 'block_level', numBlocksPerGroup: 1, blockModules: [root.namedModules()[2]![0]] })],
      ['sequential offload', () => applySequentialOffload(root)],
      ['layerwise casting', () => applyLayerwiseCasting(root, { storageDtype: 'float16' })],
    ];
    for (const [label, attempt] of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(error, label).toBeInstanceOf(Error);
      const { code, message, cause } = error as { code: string; message: string; cause: unknown };
      expect(code, label).toBe(ERROR_CODES.STRATEGY_APPLY_FAILED);
      expect(cause, label).toBeInstanceOf(UnsupportedModelError);
      // The lead names the control-flow nodes (first few, and the count) and the strategies that still work.
      const lead = message.split('\n')[0]!;
      expect(lead, label).toMatch(/control flow/);
      expect(lead, label).toMatch(/"StatefulPartitionedCall\/map\/[^"]+" \((TensorListReserve|Enter)\)/);
      expect(lead, label).toMatch(/… \(37 nodes\)/);
      expect(lead, label).toMatch(/What still works on this model: cpuOffloadWithHook\(root\)/);
      expect(snapshot(root), label).toEqual(before);
      expect(root.modules().some((m) => (HookRegistry.get(m)?.hookOrder.length ?? 0) > 0), label).toBe(false);
      expect(tf.memory().numTensors, label).toBe(tensors);
    }
    // A hook of one's own on a scope is refused the same way (it could never run).
    const scope = root.modules()[3]!;
    expect(() => HookRegistry.checkIfExistsOrInitialize(scope).registerHook(new LogHook('s', []), 'mine')).toThrow(UnsupportedModelError);
    expect(HookRegistry.get(scope)?.hookOrder ?? []).toEqual([]);
  }, 120_000);

  it('two concurrent executeAsync calls, and another model onloaded (offloading this one) while a call is pending: the unwrapped bits', async () => {
    const model = await load();
    const x = image();
    const root = wrapGraphModel(model);
    const resident = root.memoryFootprint().device;
    const first = cpuOffloadWithHook(root);
    const other = new Linear(4, 4);
    const second = cpuOffloadWithHook(other, { prevModuleHook: first });
    const log: string[] = [];
    const logged = HookRegistry.checkIfExistsOrInitialize(root).registerHook(new LogHook('root', log), 'log');
    const z = tf.ones([1, 4]);
    await expectNoLeaks(async () => {
      let settled = false;
      const pending = model.executeAsync(x) as Promise<tf.Tensor[]>;
      const both = model.executeAsync(x) as Promise<tf.Tensor[]>;
      void pending.then(() => (settled = true));
      // Let the first execution start: its hooks onloaded the model, and tfjs is inside its loop.
      for (let i = 0; i < 200 && root.memoryFootprint().device === 0; i++) await Promise.resolve();
      for (let i = 0; i < 20; i++) await Promise.resolve();
      expect(settled).toBe(false);
      expect(root.memoryFootprint().device).toBe(resident);
      // The other model of the chain runs now: its hook offloads this one, mid-execution.
      tf.dispose(other.forward(z) as tf.Tensor);
      expect(root.memoryFootprint().device).toBe(0);
      const [a, b] = await Promise.all([pending, both]);
      expectSameOutputs(a.map((t) => Float32Array.from(t.dataSync())), reference, 'first call');
      expectSameOutputs(b.map((t) => Float32Array.from(t.dataSync())), reference, 'second call');
      tf.dispose([...a, ...b]);
      // The calls took turns: the second one's hooks ran once the first had settled.
      expect(log).toEqual(['root.pre', 'root.post', 'root.pre', 'root.post']);
      first.offload();
      second.offload();
      expect(root.memoryFootprint().device).toBe(0);
    });
    logged.remove();
    second.remove();
    first.remove();
    other.dispose();
    tf.dispose([x, z]);
  }, 120_000);

  it('execute refuses with tfjs\' own error before any hook runs; a root hook that replaces the forward is refused by executeAsync', async () => {
    const model = await load();
    const x = image();
    const root = wrapGraphModel(model);
    const handle = cpuOffloadWithHook(root);
    expect(() => model.execute(x)).toThrow(/dynamic op.*executeAsync/);
    // The refusal came before the hooks: the weights were not onloaded.
    expect(root.memoryFootprint().device).toBe(0);
    const replacing = HookRegistry.checkIfExistsOrInitialize(root).registerHook(new ReplacingHook(), 'replacing');
    await expect(model.executeAsync(x)).rejects.toThrow(/hook\(s\) "replacing" \(ReplacingHook\) replace the forward \(newForward\)/);
    expect(root.memoryFootprint().device).toBe(0);
    replacing.remove();
    expectSameOutputs(await outputsOf(model, x), reference, 'after the refusals');
    handle.remove();
    x.dispose();
  }, 120_000);
});
