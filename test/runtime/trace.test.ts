import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  events,
  HookRegistry,
  InvalidArgumentError,
  Linear,
  memory,
  ModelHook,
  Module,
  ModuleList,
  type TraceDocument,
  type TraceEvent,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

class Block extends Module {
  proj = new Linear(8, 8);
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(this.proj.forward(x));
  }
}

/** Two blocks that always run and one that runs only when asked (a conditional branch). */
class Model extends Module {
  blocks = new ModuleList([new Block(), new Block()]);
  extra = new Block();
  forward(x: tf.Tensor, useExtra = false): tf.Tensor {
    let h = x;
    for (const b of this.blocks) h = b.forward(h);
    return useExtra ? this.extra.forward(h) : h;
  }
}

/** Reports an onload before and an offload after the module's forward, as an offloading strategy does. */
class FakeTransfers extends ModelHook {
  constructor(private readonly path: string) {
    super();
  }
  override preForward(_m: Module, args: any[]): any[] {
    events.emit('onload', { path: this.path, bytes: 256, ms: 0.01 });
    return args;
  }
  override postForward(_m: Module, out: any): any {
    events.emit('offload', { path: this.path, bytes: 256, ms: 0.01 });
    return out;
  }
}

const hookNames = (root: Module): string[][] => root.modules().map((m) => [...(HookRegistry.get(m)?.hookOrder ?? [])]);

/** Well-formed: JSON round trip, required fields, B/E balanced and nested per track; returns the module slices. */
function checkStructure(doc: TraceDocument): Array<{ name: string; depth: number }> {
  const parsed = JSON.parse(JSON.stringify(doc)) as TraceDocument;
  expect(parsed.displayTimeUnit).toBe('ms');
  const stacks = new Map<number, string[]>();
  const slices: Array<{ name: string; depth: number }> = [];
  let lastTs = -Infinity;
  for (const e of parsed.traceEvents) {
    expect(typeof e.name).toBe('string');
    expect(['B', 'E', 'X', 'C', 'M']).toContain(e.ph);
    expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
    expect(e.pid).toBe(1);
    expect(Number.isInteger(e.tid)).toBe(true);
    if (e.ph === 'M') continue;
    if (e.ph === 'B' || e.ph === 'E') {
      // Slices on one track are recorded in time order.
      expect(e.ts).toBeGreaterThanOrEqual(lastTs);
      lastTs = e.ts;
    }
    const stack = stacks.get(e.tid) ?? [];
    stacks.set(e.tid, stack);
    if (e.ph === 'B') {
      slices.push({ name: e.name, depth: stack.length });
      stack.push(e.name);
    } else if (e.ph === 'E') {
      expect(stack.pop()).toBe(e.name);
    } else if (e.ph === 'X') {
      expect(e.dur).toBeGreaterThanOrEqual(0);
    } else if (e.ph === 'C') {
      expect(typeof e.args?.bytes).toBe('number');
    }
  }
  for (const stack of stacks.values()) expect(stack).toEqual([]);
  return slices;
}

describe.each(BACKENDS)('memory.trace on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('records nested module slices by path, transfers and byte counters, and leaves no hooks or tensors behind', () => {
    const model = new Model();
    HookRegistry.checkIfExistsOrInitialize(model.blocks.at(1)).registerHook(new FakeTransfers('blocks.1'), 'fake');
    const hooksBefore = hookNames(model);
    const x = tf.ones([4, 8]);
    const doc = expectNoLeaks(() => memory.trace(() => model.forward(x), { modules: model }));
    expect(hookNames(model)).toEqual(hooksBefore);

    const slices = checkStructure(doc);
    expect(slices).toEqual([
      { name: '(root) Model', depth: 0 },
      { name: 'blocks.0', depth: 1 },
      { name: 'blocks.0.proj', depth: 2 },
      { name: 'blocks.1', depth: 1 },
      { name: 'blocks.1.proj', depth: 2 },
    ]);
    // "extra" did not run: no slice. ModuleList "blocks" is never called itself: no slice either.
    const transfers = doc.traceEvents.filter((e) => e.ph === 'X');
    expect(transfers.map((e) => e.name)).toEqual(['onload blocks.1', 'offload blocks.1']);
    expect(transfers[0]!.args).toMatchObject({ path: 'blocks.1', bytes: 256 });
    // The transfers happened inside blocks.1's forward: their slices end within its slice.
    const b1 = doc.traceEvents.filter((e) => e.name === 'blocks.1' && (e.ph === 'B' || e.ph === 'E'));
    for (const t of transfers) expect(t.ts + t.dur! >= b1[0]!.ts && t.ts + t.dur! <= b1[1]!.ts).toBe(true);

    const device = doc.traceEvents.filter((e: TraceEvent) => e.name === 'device bytes').map((e) => e.args!.bytes as number);
    const host = doc.traceEvents.filter((e) => e.name === 'host bytes');
    expect(host.length).toBeGreaterThanOrEqual(1);
    // Activations appear and go: the counter rises above its start and comes back to it (the output is released).
    expect(Math.max(...device)).toBeGreaterThan(device[0]!);
    expect(device.at(-1)).toBe(device[0]);
    expect(device.at(-1)).toBe(memory.stats().deviceBytes);
    const slicesWhenConditional = checkStructure(memory.trace(() => model.forward(x, true), { modules: model }));
    expect(slicesWhenConditional.map((s) => s.name)).toContain('extra.proj');
    x.dispose();
    model.dispose();
  });

  it('without `modules`, gives every module forward that runs its slice, and stops observing afterwards', () => {
    const model = new Model();
    model.namedModules(); // walked: modules are named by their paths
    const x = tf.ones([4, 8]);
    const doc = expectNoLeaks(() => memory.trace(() => model.forward(x)));
    expect(checkStructure(doc)).toEqual([
      { name: '(root) Model', depth: 0 },
      { name: 'blocks.0', depth: 1 },
      { name: 'blocks.0.proj', depth: 2 },
      { name: 'blocks.1', depth: 1 },
      { name: 'blocks.1.proj', depth: 2 },
    ]);
    // After the trace, forwards are observed no more: a second trace of nothing has no module slice.
    tf.dispose(model.forward(x));
    expect(checkStructure(memory.trace(() => undefined))).toEqual([]);
    x.dispose();
    model.dispose();
  });

  it('traces async work, closes slices when a forward throws, and refuses bad arguments', async () => {
    const model = new Model();
    const x = tf.ones([2, 8]);
    const doc = await memory.trace(async () => {
      await Promise.resolve();
      return model.forward(x);
    }, { modules: [model] });
    expect(checkStructure(doc).length).toBe(5);

    const bad = tf.ones([2, 3]);
    expect(() => memory.trace(() => model.forward(bad), { modules: model })).toThrow();
    expect(hookNames(model).flat()).toEqual([]);
    // Without modules: counters and transfers only.
    const plain = memory.trace(() => tf.tidy(() => tf.add(x, x)));
    expect(plain.traceEvents.some((e) => e.ph === 'B')).toBe(false);
    expect(plain.traceEvents.filter((e) => e.name === 'device bytes').length).toBeGreaterThan(1);
    expect(() => memory.trace(42 as never)).toThrow(InvalidArgumentError);
    expect(() => memory.trace(() => 0, { modules: [{}] as never })).toThrow(/modules/);
    tf.dispose([x, bad]);
    model.dispose();
  });
});
