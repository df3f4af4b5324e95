import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  appliedStrategies,
  applyGroupOffloading,
  applyStrategy,
  events,
  HookRegistry,
  Linear,
  Module,
  ModuleList,
  strategy,
  StrategyConflictError,
  type TransferEvent,
} from '../../src/index.js';
import { memory } from '../../src/diagnostics/memory.js';
import {
  createContainer,
  emitEvent,
  Strategy,
  type Undo,
} from '../../src/plugin.js';
import '../../examples/docs/plugins-jit-offload.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';

class Net extends Module {
  blocks = new ModuleList([new Linear(8, 8), new Linear(8, 8)]);
  head = new Linear(8, 4);
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h);
  }
}

const tiers = (m: Module): string[] => m.parameters().map((p) => p.tier);

describe.each(BACKENDS)('the plugin API on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => {
    vi.restoreAllMocks();
    memory.setDeviceBudget(undefined);
  });

  it('judges conflicts by what each application covers, not where it is applied', () => {
    const model = new Net();
    const x = tf.ones([2, 8]);
    const expected = model.forward(x);
    // Group offloading on blocks, a plugin on the root that covers only head: no overlap, both apply.
    const groups = applyGroupOffloading(model.blocks, { offloadType: 'leaf_level' });
    const jit = applyStrategy(model, 'jit-offload', { modules: ['head'] });
    expect(tiers(model.head)).toEqual(['host', 'host']);
    const y = model.forward(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    // Where group offloading covers blocks.0, the plugin is refused there.
    expect(() => applyStrategy(model, 'jit-offload', { modules: ['blocks.0'] })).toThrow(/conflicts with strategy "group_offloading", which is applied to module "blocks" \(ModuleList\), which overlaps Net\. Both cover module "blocks.0" \(Linear\)/);
    groups.remove();
    // The plugin twice on disjoint modules of one root is fine too; on the same module it is refused.
    applyStrategy(model, 'jit-offload', { modules: ['blocks.0'] }).remove();
    expect(() => applyStrategy(model, 'jit-offload', { modules: ['head'] })).toThrow(/"jit-offload" is already applied to module Net\. Both cover module "head" \(Linear\)/);
    jit.remove();
    // Group offloading on the root covers head as well: refused, both ways round, naming the shared module.
    const whole = applyGroupOffloading(model, { offloadType: 'leaf_level' });
    expect(() => applyStrategy(model, 'jit-offload', { modules: ['head'] })).toThrow(StrategyConflictError);
    expect(() => applyStrategy(model, 'jit-offload', { modules: ['head'] })).toThrow(
      /"jit-offload" conflicts with strategy "group_offloading", which is applied to module Net\. Both cover module "head" \(Linear\)/,
    );
    whole.remove();
    const onHead = applyStrategy(model, 'jit-offload', { modules: ['head'] });
    expect(() => applyGroupOffloading(model, { offloadType: 'leaf_level' })).toThrow(/"group_offloading" conflicts with strategy "jit-offload", which is applied to module Net/);
    expect(tiers(model.head)).toEqual(['host', 'host']);
    onHead.remove();
    expect(model.parameters().every((p) => p.tier === 'device')).toBe(true);
    tf.dispose([x, expected, y]);
    model.dispose();
  });

  it('refuses a covers() that names modules outside the tree, before applying anything', () => {
    const c = createContainer();
    const stranger = new Linear(2, 2);
    const applied: string[] = [];
    @strategy('covers-outside', { container: c })
    class CoversOutside extends Strategy<object> {
      override covers(): Module[] {
        return [stranger];
      }
      override apply(): Undo {
        applied.push('apply');
        return { remove() {} };
      }
    }
    const model = new Net();
    expect(() => applyStrategy(model, 'covers-outside', {}, { container: c })).toThrow(/"covers-outside"\.covers\(\) must return an array of modules in the tree of Net, got 1 module\(s\) outside it/);
    expect(applied).toEqual([]);
    expect(CoversOutside.name).toBe('CoversOutside');
    stranger.dispose();
    model.dispose();
  });

  it('marks the strategies applied in a disposed tree removed, without undoing them', () => {
    const c = createContainer();
    const calls: string[] = [];
    @strategy('tracked', { container: c })
    class Tracked extends Strategy<object> {
      override apply(m: Module): Undo {
        calls.push(`apply ${m.constructor.name}`);
        return { remove: () => calls.push('remove'), detach: () => calls.push('detach') };
      }
    }
    const model = new Net();
    const outside = new Net();
    const onHead = applyStrategy(model.head, 'tracked', {}, { container: c });
    const groups = applyGroupOffloading(model.blocks, { offloadType: 'leaf_level' });
    const elsewhere = applyStrategy(outside, 'tracked', {}, { container: c });
    model.dispose();
    expect([onHead.removed, groups.removed, elsewhere.removed]).toEqual([true, true, false]);
    expect(calls).toEqual(['apply Linear', 'apply Net', 'detach']);
    onHead.remove();
    groups.remove();
    expect(calls).toEqual(['apply Linear', 'apply Net', 'detach']);
    expect([appliedStrategies(model.head), appliedStrategies(model.blocks)]).toEqual([[], []]);
    elsewhere.remove();
    expect(calls).toEqual(['apply Linear', 'apply Net', 'detach', 'remove']);
    expect(Tracked.name).toBe('Tracked');
    outside.dispose();
  });

  it("exports emitEvent: a plugin's events reach listeners, and a throwing listener never aborts the forward", () => {
    const model = new Net();
    const seen: TransferEvent[] = [];
    const record = (e: TransferEvent): void => void seen.push(e);
    const boom = (): void => {
      throw new Error('listener bug');
    };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    events.on('onload', record);
    events.on('offload', boom);
    const jit = applyStrategy(model, 'jit-offload', { modules: ['head'] });
    const x = tf.ones([2, 8]);
    const y = model.forward(x);
    expect(y.shape).toEqual([2, 4]);
    expect(seen.map((e) => [e.path, e.bytes])).toEqual([['"head" (Linear)', model.head.parameters().reduce((n, p) => n + p.byteLength, 0)]]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/a listener of the "offload" event threw/), expect.any(Error));
    expect(() => emitEvent('offload', { path: 'p', bytes: 1, ms: 0 })).not.toThrow();
    events.off('onload', record);
    events.off('offload', boom);
    jit.remove();
    expect(HookRegistry.get(model.head)?.hookOrder ?? []).toEqual([]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it("assertDeviceBudget's message says how to raise the budget exactly once", () => {
    memory.setDeviceBudget(1024);
    const message = (advice?: string): string => {
      try {
        if (advice === undefined) memory.assertDeviceBudget(4096, 'group "g"');
        else memory.assertDeviceBudget(4096, 'group "g"', advice);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    const count = (text: string): number => text.split('setDeviceBudget').length - 1;
    expect(count(message('Use smaller groups, or raise the budget with memory.setDeviceBudget(size).'))).toBe(1);
    expect(message('Use smaller groups.')).toMatch(/Nothing was allocated\. Use smaller groups\. Or raise the budget with memory\.setDeviceBudget\(size\)\.$/);
    expect(count(message())).toBe(1);
    expect(message('')).toMatch(/Nothing was allocated\. Raise the budget with memory\.setDeviceBudget\(size\)\.$/);
  });
});
