import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  events,
  HookAlreadyRegisteredError,
  HookRegistry,
  MemhooksError,
  ModelHook,
  Module,
  ModuleList,
  type NextForward,
} from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { LogHook, Recorder, WrapHook } from '../helpers/modules.js';

function setup() {
  const log: string[] = [];
  const m = new Recorder(log);
  const registry = HookRegistry.checkIfExistsOrInitialize(m);
  const run = (): number => {
    log.length = 0;
    return m.forward(tf.scalar(1)).dataSync()[0]!;
  };
  return { log, m, registry, run };
}

describe.each(BACKENDS)('HookRegistry on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('creates one registry per module and finds it again', () => {
    const { m, registry } = setup();
    expect(HookRegistry.checkIfExistsOrInitialize(m)).toBe(registry);
    expect(HookRegistry.get(m)).toBe(registry);
    expect(HookRegistry.get(new Recorder())).toBeUndefined();
  });

  it('runs the most recently registered hook outermost', () => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new LogHook('B', log), 'b');
    registry.registerHook(new LogHook('C', log), 'c');
    expect(run()).toBe(2);
    expect(log).toEqual(['C.pre', 'B.pre', 'A.pre', 'forward', 'A.post', 'B.post', 'C.post']);
    expect(registry.hookOrder).toEqual(['a', 'b', 'c']);
  });

  it.each([
    ['first', 'a', ['C.pre', 'B.pre', 'forward', 'B.post', 'C.post']],
    ['middle', 'b', ['C.pre', 'A.pre', 'forward', 'A.post', 'C.post']],
    ['last', 'c', ['B.pre', 'A.pre', 'forward', 'A.post', 'B.post']],
  ])('keeps the others in order after removing the %s hook', (_which, name, expected) => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new LogHook('B', log), 'b');
    registry.registerHook(new LogHook('C', log), 'c');
    registry.removeHook(name);
    run();
    expect(log).toEqual(expected);
  });

  it('runs a newForward hook around the inner chain', () => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new WrapHook('B', log), 'b');
    registry.registerHook(new LogHook('C', log), 'c');
    expect(run()).toBe(2);
    expect(log).toEqual(['C.pre', 'B.pre', 'B.new', 'A.pre', 'forward', 'A.post', 'B.new-end', 'B.post', 'C.post']);
  });

  it('keeps a newForward hook working when the hook just beneath it is removed (the reference loses it)', () => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new WrapHook('B', log), 'b');
    registry.removeHook('a');
    run();
    expect(log).toEqual(['B.pre', 'B.new', 'forward', 'B.new-end', 'B.post']);
  });

  it('splices correctly when the newForward hook itself is removed from the middle', () => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new WrapHook('B', log), 'b');
    registry.registerHook(new LogHook('C', log), 'c');
    registry.removeHook('b');
    run();
    expect(log).toEqual(['C.pre', 'A.pre', 'forward', 'A.post', 'C.post']);
  });

  it('lets a newForward hook skip the layer entirely', () => {
    const { log, registry, run } = setup();
    class Skip extends ModelHook {
      override newForward(_m: Module, args: any[]): any {
        return tf.clone(args[0]);
      }
    }
    registry.registerHook(new LogHook('A', log), 'inner');
    registry.registerHook(new Skip(), 'skip');
    expect(run()).toBe(1);
    expect(log).toEqual([]);
    registry.removeHook('skip');
    expect(run()).toBe(2);
  });

  it('passes arguments and outputs replaced by hooks down and up the chain', () => {
    const { registry, run } = setup();
    class Double extends ModelHook {
      override preForward(_m: Module, args: any[]): any[] {
        return [tf.mul(args[0], 2)];
      }
      override postForward(_m: Module, out: tf.Tensor): tf.Tensor {
        return tf.mul(out, 10);
      }
    }
    class Call extends ModelHook {
      override newForward(_m: Module, args: any[], next: NextForward): any {
        return next(tf.add(args[0], 100));
      }
    }
    registry.registerHook(new Double(), 'double');
    registry.registerHook(new Call(), 'call');
    // call: 1+100 → double.pre: 202 → forward: 203 → double.post: 2030
    expect(run()).toBe(2030);
  });

  it('refuses a duplicate name with a message naming the hook and module', () => {
    const parent = new (class Parent extends Module {
      blocks = new ModuleList([new Recorder(), new Recorder()]);
      forward() {}
    })();
    parent.namedModules();
    const block = parent.getSubmodule('blocks.1');
    const registry = HookRegistry.checkIfExistsOrInitialize(block);
    registry.registerHook(new LogHook('A', []), 'group_offloading');
    const attempt = () => registry.registerHook(new LogHook('B', []), 'group_offloading');
    expect(attempt).toThrow(HookAlreadyRegisteredError);
    expect(attempt).toThrow('Hook "group_offloading" is already registered on module "blocks.1" (Recorder). Remove it first or use another name.');
    expect(registry.hookOrder).toEqual(['group_offloading']);
  });

  it('re-registering a removed name makes it the outermost hook', () => {
    const { log, registry, run } = setup();
    registry.registerHook(new LogHook('A', log), 'a');
    registry.registerHook(new LogHook('B', log), 'b');
    registry.removeHook('a');
    registry.registerHook(new LogHook('A2', log), 'a');
    run();
    expect(log).toEqual(['A2.pre', 'B.pre', 'forward', 'B.post', 'A2.post']);
    expect(registry.hookOrder).toEqual(['b', 'a']);
  });

  it('removing a missing name is not an error', () => {
    const { registry } = setup();
    expect(() => registry.removeHook('nope')).not.toThrow();
  });

  it('has idempotent handles that work with using and never remove a newer hook of the same name', () => {
    const { log, registry, run } = setup();
    const first = registry.registerHook(new LogHook('A', log), 'a');
    first.remove();
    first.remove();
    const second = registry.registerHook(new LogHook('A2', log), 'a');
    first.remove();
    // The same hook instance registered again under the same name: the old handle still cannot touch it.
    const hook = new LogHook('same', []);
    const old = registry.registerHook(hook, 'same');
    old.remove();
    const again = registry.registerHook(hook, 'same');
    old.remove();
    expect(registry.getHook('same')).toBe(hook);
    again.remove();
    run();
    expect(log).toEqual(['A2.pre', 'forward', 'A2.post']);
    second[Symbol.dispose]();
    {
      using _h = registry.registerHook(new LogHook('U', log), 'scoped');
      run();
      expect(log).toEqual(['U.pre', 'forward', 'U.post']);
    }
    expect(registry.hookOrder).toEqual([]);
  });

  it('preserves forward name and length, and restores the exact original function when the last hook goes', () => {
    class Named extends Module {
      forward(a: tf.Tensor, _b?: tf.Tensor): tf.Tensor {
        return tf.clone(a);
      }
    }
    const m = new Named();
    const original = m.forward;
    expect(original.name).toBe('forward');
    expect(original.length).toBe(2);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    const a = registry.registerHook(new LogHook('A', []), 'a');
    const b = registry.registerHook(new LogHook('B', []), 'b');
    expect(m.forward).not.toBe(original);
    expect(m.forward.name).toBe('forward');
    expect(m.forward.length).toBe(2);
    b.remove();
    expect(m.forward).not.toBe(original);
    a.remove();
    expect(m.forward).toBe(original);
  });

  it('calls onForwardError innermost first for every hook whose preForward ran, and propagates the error unchanged', () => {
    const log: string[] = [];
    class Boom extends Module {
      forward(): never {
        throw new RangeError('boom');
      }
    }
    class Guard extends LogHook {
      override onForwardError(_m: Module, err: unknown): void {
        log.push(`${this.label}.error:${(err as Error).message}`);
      }
    }
    class FailingPre extends ModelHook {
      override preForward(): any[] {
        log.push('F.pre');
        throw new TypeError('pre failed');
      }
      override onForwardError(): void {
        log.push('F.error');
      }
    }
    const m = new Boom();
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    registry.registerHook(new Guard('A', log), 'a');
    registry.registerHook(new WrapHook('W', log), 'w');
    registry.registerHook(new Guard('C', log), 'c');
    let caught: unknown;
    try {
      m.forward();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as Error).message).toBe('boom');
    expect(log).toEqual(['C.pre', 'W.pre', 'W.new', 'A.pre', 'A.error:boom', 'C.error:boom']);

    // A hook whose preForward threw gets no onForwardError; the hooks outside it do.
    log.length = 0;
    registry.registerHook(new FailingPre(), 'f');
    registry.registerHook(new Guard('O', log), 'o');
    expect(() => m.forward()).toThrow('pre failed');
    expect(log).toEqual(['O.pre', 'F.pre', 'O.error:pre failed']);
  });

  it('keeps the original error when an onForwardError handler itself throws', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    class Boom extends Module {
      forward(): never {
        throw new Error('original');
      }
    }
    class BadHandler extends ModelHook {
      override onForwardError(): void {
        throw new Error('secondary');
      }
    }
    const m = new Boom();
    HookRegistry.checkIfExistsOrInitialize(m).registerHook(new BadHandler(), 'bad');
    expect(() => m.forward()).toThrow('original');
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
  });

  it('resets stateful hooks outermost first, recursively', () => {
    const log: string[] = [];
    class Counter extends ModelHook {
      override readonly stateful = true;
      calls = 0;
      constructor(readonly label: string) {
        super();
      }
      override preForward(_m: Module, args: any[]): any[] {
        this.calls++;
        return args;
      }
      override resetState(): void {
        log.push(this.label);
        this.calls = 0;
      }
    }
    const root = new (class Root extends Module {
      child = new Recorder();
      forward(x: tf.Tensor) {
        return this.child.forward(x);
      }
    })();
    const rootReg = HookRegistry.checkIfExistsOrInitialize(root);
    const c1 = new Counter('root-inner');
    rootReg.registerHook(c1, 'one');
    rootReg.registerHook(new LogHook('plain', []), 'plain');
    rootReg.registerHook(new Counter('root-outer'), 'two');
    const childCounter = new Counter('child');
    HookRegistry.checkIfExistsOrInitialize(root.child).registerHook(childCounter, 'one');
    root.forward(tf.scalar(0));
    expect(c1.calls).toBe(1);
    expect(childCounter.calls).toBe(1);
    rootReg.resetStatefulHooks();
    expect(log).toEqual(['root-outer', 'root-inner', 'child']);
    expect(c1.calls).toBe(0);
    expect(childCounter.calls).toBe(0);
    log.length = 0;
    rootReg.resetStatefulHooks({ recurse: false });
    expect(log).toEqual(['root-outer', 'root-inner']);
  });

  it('refuses a stateful hook without resetState', () => {
    class Lazy extends ModelHook {
      override readonly stateful = true;
    }
    const { registry } = setup();
    expect(() => registry.registerHook(new Lazy(), 'lazy')).toThrow(/stateful but does not implement resetState/);
    expect(registry.hookOrder).toEqual([]);
  });

  it('removes a hook by name from every descendant with recurse, and only locally without', () => {
    const root = new (class Root extends Module {
      blocks = new ModuleList([new Recorder(), new Recorder()]);
      forward() {}
    })();
    for (const m of root.modules()) HookRegistry.checkIfExistsOrInitialize(m).registerHook(new LogHook('x', []), 'x');
    HookRegistry.get(root)!.removeHook('x', { recurse: false });
    expect(root.modules().map((m) => HookRegistry.get(m)!.hookOrder.length)).toEqual([0, 1, 1, 1]);
    HookRegistry.get(root)!.removeHook('x');
    expect(root.modules().map((m) => HookRegistry.get(m)!.hookOrder.length)).toEqual([0, 0, 0, 0]);
  });

  it('runs initializeHook at registration and leaves nothing behind when it throws', () => {
    const { m, registry } = setup();
    const original = m.forward;
    class Refuses extends ModelHook {
      override initializeHook(): void {
        throw new MemhooksError('INVALID_ARGUMENT', 'not this module');
      }
    }
    expect(() => registry.registerHook(new Refuses(), 'r')).toThrow('not this module');
    expect(registry.hookOrder).toEqual([]);
    expect(m.forward).toBe(original);
    const seen: Module[] = [];
    class Init extends ModelHook {
      override initializeHook(mod: Module): void {
        seen.push(mod);
      }
    }
    registry.registerHook(new Init(), 'init');
    expect(seen).toEqual([m]);
  });

  it('removes a hook everywhere else when one module vetoes a recursive removal, then reports the veto', () => {
    const root = new (class Root extends Module {
      blocks = new ModuleList([new Recorder(), new Recorder(), new Recorder()]);
      forward() {}
    })();
    class Sticky extends ModelHook {
      override deinitializeHook(): void {
        throw new Error('cannot undo');
      }
    }
    root.modules().forEach((m, i) => HookRegistry.checkIfExistsOrInitialize(m).registerHook(i === 2 ? new Sticky() : new LogHook('x', []), 'x'));
    expect(() => HookRegistry.get(root)!.removeHook('x')).toThrow(/"x".*refused to be removed from module "blocks.0" \(Recorder\)/);
    expect(root.modules().map((m) => HookRegistry.get(m)!.hookOrder.length)).toEqual([0, 0, 1, 0, 0]);
  });

  it('lets deinitializeHook veto a removal, leaving the hook registered and working', () => {
    const { log, registry, run } = setup();
    class Sticky extends LogHook {
      override deinitializeHook(): void {
        throw new Error('cannot undo a cast');
      }
    }
    registry.registerHook(new Sticky('S', log), 's');
    expect(() => registry.removeHook('s')).toThrow(/refused to be removed[\s\S]*cannot undo a cast/);
    expect(registry.hookOrder).toEqual(['s']);
    run();
    expect(log).toEqual(['S.pre', 'forward', 'S.post']);
  });

  it('prints the registry like diffusers does', () => {
    const { registry } = setup();
    expect(registry.toString()).toBe('HookRegistry(\n)');
    class Custom extends ModelHook {
      override toString(): string {
        return 'Custom(depth=2)';
      }
    }
    registry.registerHook(new LogHook('A', []), 'first');
    registry.registerHook(new Custom(), 'second');
    expect(registry.toString()).toBe('HookRegistry(\n  (0) first - LogHook\n  (1) second - Custom(depth=2)\n)');
  });

  it('emits hook:registered and hook:removed with the module path', () => {
    const seen: string[] = [];
    const onReg = (e: { name: string; path: string }) => seen.push(`+${e.name}@${e.path}`);
    const onRem = (e: { name: string; path: string }) => seen.push(`-${e.name}@${e.path}`);
    events.on('hook:registered', onReg).on('hook:removed', onRem);
    try {
      const root = new (class Root extends Module {
        blocks = new ModuleList([new Recorder()]);
        forward() {}
      })();
      const block = root.getSubmodule('blocks.0');
      const handle = HookRegistry.checkIfExistsOrInitialize(block).registerHook(new LogHook('A', []), 'a');
      handle.remove();
      expect(seen).toEqual(['+a@blocks.0', '-a@blocks.0']);
    } finally {
      events.off('hook:registered', onReg).off('hook:removed', onRem);
    }
  });

  it('refuses to make a registry for what is not a module', () => {
    expect(() => HookRegistry.checkIfExistsOrInitialize(null as unknown as Module)).toThrow(/Hooks attach to modules .*got null/);
    expect(() => HookRegistry.checkIfExistsOrInitialize({} as Module)).toThrow(/got a plain object/);
  });

  it('refuses things that are not hooks and empty names', () => {
    const { registry } = setup();
    expect(() => registry.registerHook({ preForward: (a: unknown) => a } as unknown as ModelHook, 'x')).toThrow(/needs a ModelHook instance/);
    expect(() => registry.registerHook(new LogHook('A', []), '')).toThrow(/non-empty hook name/);
  });

  it('reports a preForward that forgets to return the arguments', () => {
    const { registry, run } = setup();
    class Forgetful extends ModelHook {
      override preForward(): any[] {
        return undefined as unknown as any[];
      }
    }
    registry.registerHook(new Forgetful(), 'forgetful');
    expect(run).toThrow(/preForward of hook "forgetful".*must return the argument array/);
  });

  it('drops hooks without undoing them when the module is disposed', () => {
    const { m, registry } = setup();
    const original = m.forward;
    const calls: string[] = [];
    class Tracked extends ModelHook {
      override deinitializeHook(): void {
        calls.push('deinit');
      }
      override detachHook(): void {
        calls.push('detach');
      }
    }
    registry.registerHook(new Tracked(), 't');
    m.dispose();
    expect(calls).toEqual(['detach']);
    expect(registry.hookOrder).toEqual([]);
    expect(m.forward).toBe(original);
  });

  it('a hook registered or removed during a forward does not disturb the forward in flight', () => {
    const { log, registry, run } = setup();
    class SelfRemoving extends LogHook {
      override preForward(m: Module, args: any[]): any[] {
        HookRegistry.get(m)!.removeHook('inner');
        return super.preForward(m, args);
      }
    }
    registry.registerHook(new LogHook('I', log), 'inner');
    registry.registerHook(new SelfRemoving('S', log), 'outer');
    run();
    expect(log).toEqual(['S.pre', 'I.pre', 'forward', 'I.post', 'S.post']);
    run();
    expect(log).toEqual(['S.pre', 'forward', 'S.post']);
  });
});
