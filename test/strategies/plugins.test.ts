import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  applyStrategy,
  appliedStrategies,
  HookRegistry,
  MemhooksError,
  ModelHook,
  Module,
  ModuleList,
  registerStrategy,
  strategy,
  StrategyConflictError,
} from '../../src/index.js';
import { createContainer, Strategy, type Undo } from '../../src/plugin.js';
import { DEVICE_BYTES_LOGGER, type DeviceBytesRecord } from '../../examples/docs/plugins-device-bytes-logger.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { Recorder } from '../helpers/modules.js';

class Model extends Module {
  blocks = new ModuleList([new Recorder(), new Recorder()]);
  forward(x: tf.Tensor): tf.Tensor {
    let h = x;
    for (const b of this.blocks) h = b.forward(h);
    return h;
  }
}

/** Records what it was asked to do; conflicts with 'offload-b'. */
function defineTestStrategies() {
  const c = createContainer();
  const log: string[] = [];
  @strategy('offload-a', { container: c })
  class OffloadA extends Strategy<{ depth: number }> {
    override readonly conflictsWith = ['offload-b'];
    override validate(_m: Module, o: { depth: number }): void {
      if (!(o.depth > 0)) throw new MemhooksError('INVALID_ARGUMENT', `depth must be positive, got ${o.depth}`);
    }
    override apply(m: Module, o: { depth: number }): Undo {
      log.push(`apply a ${m.path || '<root>'} ${o.depth}`);
      return { remove: () => log.push('remove a') };
    }
  }
  @strategy('offload-b', { container: c })
  class OffloadB extends Strategy<object> {
    override apply(): Undo {
      log.push('apply b');
      return { remove: () => log.push('remove b') };
    }
  }
  @strategy('neutral', { container: c })
  class Neutral extends Strategy<object> {
    override apply(): Undo {
      return { remove: () => {} };
    }
  }
  return { c, log, OffloadA, OffloadB, Neutral };
}

describe.each(BACKENDS)('strategy plugins on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('applies a registered strategy by name and removes it idempotently', () => {
    const { c, log } = defineTestStrategies();
    const model = new Model();
    const handle = applyStrategy(model, 'offload-a', { depth: 2 }, { container: c });
    expect(log).toEqual(['apply a <root> 2']);
    expect(appliedStrategies(model)).toEqual(['offload-a']);
    expect(handle.name).toBe('offload-a');
    handle.remove();
    handle.remove();
    expect(log).toEqual(['apply a <root> 2', 'remove a']);
    expect(appliedStrategies(model)).toEqual([]);
    model.dispose();
  });

  it('refuses conflicting strategies both ways, on the same module, an ancestor or a descendant, naming both', () => {
    const { c, log } = defineTestStrategies();
    const model = new Model();
    const a = applyStrategy(model, 'offload-a', { depth: 1 }, { container: c });
    expect(() => applyStrategy(model, 'offload-b', {}, { container: c })).toThrow(StrategyConflictError);
    expect(() => applyStrategy(model, 'offload-b', {}, { container: c })).toThrow(
      /Strategy "offload-b" conflicts with strategy "offload-a", which is applied to module Model\. Remove "offload-a" first/,
    );
    expect(() => applyStrategy(model.blocks.at(1), 'offload-b', {}, { container: c })).toThrow(/overlaps "blocks.1"/);
    expect(() => applyStrategy(model, 'offload-a', { depth: 1 }, { container: c })).toThrow(/already applied/);
    applyStrategy(model, 'neutral', {}, { container: c }).remove();
    a.remove();
    // b on a descendant first: then a on the root is refused because b declares nothing but a does.
    const b = applyStrategy(model.blocks.at(0), 'offload-b', {}, { container: c });
    expect(() => applyStrategy(model, 'offload-a', { depth: 1 }, { container: c })).toThrow(/conflicts with strategy "offload-b", which is applied to module "blocks.0"/);
    b.remove();
    expect(log.filter((l) => l.startsWith('apply'))).toEqual(['apply a <root> 1', 'apply b']);
    model.dispose();
  });

  it('removes the hooks a failing apply had registered, and reports the failure with its cause', () => {
    const c = createContainer();
    @strategy('half-way', { container: c })
    class HalfWay extends Strategy<object> {
      override apply(m: Module): Undo {
        for (const sub of m.modules()) HookRegistry.checkIfExistsOrInitialize(sub).registerHook(new (class extends ModelHook {})(), 'half');
        return { remove() {} };
      }
    }
    const model = new Model();
    // The second block already has a hook named "half": registration fails there, midway.
    const preexisting = HookRegistry.checkIfExistsOrInitialize(model.blocks.at(1)).registerHook(new (class extends ModelHook {})(), 'half');
    let err: unknown;
    try {
      applyStrategy(model, 'half-way', {}, { container: c });
    } catch (e) {
      err = e;
    }
    expect((err as MemhooksError).code).toBe('STRATEGY_APPLY_FAILED');
    expect((err as Error).message).toMatch(/Strategy "half-way" failed while applying to module Model; 3 hook\(s\) it had registered were removed again\.[\s\S]*caused by HookAlreadyRegisteredError/);
    expect(model.modules().map((m) => HookRegistry.get(m)?.hookOrder ?? [])).toEqual([[], [], [], ['half']]);
    expect(appliedStrategies(model)).toEqual([]);
    preexisting.remove();
    expect(HalfWay.name).toBe('HalfWay');
    model.dispose();
  });

  it('validates before changing anything', () => {
    const { c, log } = defineTestStrategies();
    const model = new Model();
    expect(() => applyStrategy(model, 'offload-a', { depth: 0 }, { container: c })).toThrow(/depth must be positive/);
    expect(log).toEqual([]);
    expect(appliedStrategies(model)).toEqual([]);
    model.dispose();
  });

  it('keeps registrations in a child container out of the root and of other children', () => {
    const first = defineTestStrategies();
    defineTestStrategies(); // a second child container may reuse the names
    const model = new Model();
    expect(() => applyStrategy(model, 'offload-a', { depth: 1 })).toThrow(/No strategy named "offload-a" is registered/);
    // The child sees its own plugins beside the root's (the built-in strategies and the example plugin), sorted.
    expect(() => applyStrategy(model, 'nope', {}, { container: first.c })).toThrow(/Registered strategies: [a-z_, -]*device-bytes-logger, [a-z_, -]*group_offloading, [a-z_, -]*neutral, offload-a, offload-b[a-z_, -]*\./);
    expect(() => registerStrategy(first.OffloadA, first.c)).toThrow(/already registered in this container/);
    const grandchild = createContainer(first.c);
    applyStrategy(model, 'neutral', {}, { container: grandchild }).remove();
    model.dispose();
  });

  it('refuses classes that are not strategies', () => {
    class Plain {}
    expect(() => registerStrategy(Plain as never, createContainer())).toThrow(/decorated with @strategy/);
    expect(() => strategy('bad name!')(class extends Strategy {
      override apply(): Undo {
        return { remove() {} };
      }
    })).toThrow(/needs a name of letters/);
  });

  it('runs the documented device-bytes logger plugin end to end', () => {
    const model = new Model();
    const records: DeviceBytesRecord[] = [];
    const handle = applyStrategy(model, DEVICE_BYTES_LOGGER, { onRecord: (r: DeviceBytesRecord) => records.push(r) });
    const x = tf.ones([64]);
    const y = model.forward(x);
    expect(records.map((r) => r.path)).toEqual(['blocks.0', 'blocks.1', '']);
    // Each block leaves its 256-byte output alive; block 1's intermediate from block 0 is freed by the root's tidy later.
    expect(records[0]!.after - records[0]!.before).toBe(256);
    expect(records[1]!.after - records[1]!.before).toBe(256);
    expect(records[2]!.after - records[2]!.before).toBe(256);
    expect(() => applyStrategy(model, DEVICE_BYTES_LOGGER, { onRecord: () => {} })).toThrow(/already applied/);
    expect(() => applyStrategy<unknown>(new Model(), DEVICE_BYTES_LOGGER, {})).toThrow('device-bytes-logger needs an onRecord(record) function in its options, got undefined.');
    handle.remove();
    expect(model.modules().every((m) => HookRegistry.get(m)?.hookOrder.length === 0)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });
});
