import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  container,
  getConstructorArgs,
  MemhooksError,
  Module,
  module,
  ModuleList,
  Parameter,
  Sequential,
  Linear,
  HookRegistry,
  ModelHook,
} from '../../src/index.js';
import { getModuleOptions, moduleToken } from '../../src/plugin.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

class Leaf extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(n = 2) {
    super();
    this.weight = new Parameter(tf.fill([n, n], 2));
    this.bias = new Parameter(tf.fill([n], 1));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x, this.weight.read()), this.bias.read());
  }
}

class Net extends Module {
  scale = new Parameter(tf.scalar(3));
  embed = new Leaf();
  blocks = new ModuleList([new Leaf(), new Leaf()]);
  notAModule = { weight: 1 };
  head = new Leaf();
  forward(x: tf.Tensor): tf.Tensor {
    let h = this.embed.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return tf.mul(this.head.forward(h), this.scale.read());
  }
}

describe.each(BACKENDS)('Module tree on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterEach(() => tf.disposeVariables());

  it('discovers children and parameters from fields in declaration order', () => {
    const net = new Net();
    expect(net.namedChildren().map(([k]) => k)).toEqual(['embed', 'blocks', 'head']);
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'embed', 'blocks', 'blocks.0', 'blocks.1', 'head']);
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      'scale',
      'embed.weight',
      'embed.bias',
      'blocks.0.weight',
      'blocks.0.bias',
      'blocks.1.weight',
      'blocks.1.bias',
      'head.weight',
      'head.bias',
    ]);
    expect(net.namedParameters({ recurse: false }).map(([k]) => k)).toEqual(['scale']);
    expect(net.namedModules('model').map(([k]) => k)[1]).toBe('model.embed');
    net.dispose();
  });

  it('lists a shared module and a tied parameter once, under the first path', () => {
    const shared = new Leaf();
    const net = new (class Tied extends Module {
      a = shared;
      b = shared;
      tiedWeight = shared.weight;
      forward() {}
    })();
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'a']);
    expect(net.namedParameters().map(([k]) => k)).toEqual(['tiedWeight', 'a.bias']);
    expect(net.memoryFootprint().device).toBe(16 + 8);
    net.dispose();
  });

  it('finds submodules and parameters by path, with errors that list what exists', () => {
    const net = new Net();
    expect(net.getSubmodule('blocks.1')).toBe(net.blocks.at(1));
    expect(net.getSubmodule('')).toBe(net);
    expect(net.getParameter('blocks.0.bias')).toBe(net.blocks.at(0).bias);
    expect(net.getParameter('scale')).toBe(net.scale);
    expect(() => net.getSubmodule('blocks.7')).toThrow(/Module "blocks" \(ModuleList\) has no child "7".*children are: 0, 1/);
    expect(() => net.getParameter('head.gamma')).toThrow(/has no parameter "gamma".*own parameters are: weight, bias/);
    let err: unknown;
    try {
      net.getSubmodule('nope');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemhooksError);
    expect((err as MemhooksError).code).toBe('MODULE_NOT_FOUND');
    net.dispose();
  });

  it('names modules and parameters by their path once discovered', () => {
    const net = new Net();
    net.namedModules();
    expect(net.blocks.at(1).path).toBe('blocks.1');
    expect(net.path).toBe('');
    net.head.weight.toHost();
    expect(() => net.head.weight.read()).toThrow('Parameter "head.weight" [2, 2] is on the "host" tier');
    net.dispose();
  });

  it('sums parameter bytes per tier', () => {
    const net = new Net();
    const all = 4 + 4 * (16 + 8);
    expect(net.memoryFootprint()).toEqual({ device: all, host: 0, disk: 0 });
    net.blocks.at(0).weight.toHost();
    expect(net.memoryFootprint()).toEqual({ device: all - 16, host: 16, disk: 0 });
    expect(net.blocks.memoryFootprint()).toEqual({ device: 48 - 16, host: 16, disk: 0 });
    net.dispose();
  });

  it('runs each forward in its own tidy scope: intermediates are freed, outputs survive', () => {
    const net = new Net();
    const x = tf.ones([1, 2]);
    const first = net.forward(x);
    first.dispose();
    const before = tf.memory().numTensors;
    const outputs = [net.forward(x), net.forward(x), net.forward(x)];
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(Array.from(outputs[0]!.dataSync())).toEqual(Array.from(outputs[2]!.dataSync()));
    outputs.forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    net.dispose();
  });

  it('returns structured outputs intact', () => {
    const m = new (class Multi extends Module {
      forward(x: tf.Tensor) {
        return { sum: tf.add(x, x), parts: [tf.neg(x), 7], label: 'ok' };
      }
    })();
    const x = tf.scalar(2);
    const out = expectNoLeaks(() => m.forward(x), { newTensors: 2 });
    expect(out.sum.dataSync()[0]).toBe(4);
    expect((out.parts[0] as tf.Tensor).dataSync()[0]).toBe(-2);
    expect(out.parts[1]).toBe(7);
    expect(out.label).toBe('ok');
    tf.dispose([out.sum, out.parts[0] as tf.Tensor]);
    x.dispose();
  });

  it('Sequential chains its children; ModuleList refuses to be called', () => {
    const seq = new Sequential([new Leaf(), new Leaf()]);
    const x = tf.ones([1, 2]);
    // [1,1]·2s + 1 = [5,5]; [5,5]·2s + 1 = [21,21]
    expect(Array.from(seq.forward(x).dataSync())).toEqual([21, 21]);
    expect(seq.length).toBe(2);
    expect(() => new ModuleList([new Leaf()]).forward(x)).toThrow(/ModuleList .* has no forward/);
    expect(() => new ModuleList([{} as Module])).toThrow(/holds modules only/);
    expect(() => seq.at(5)).toThrow(/out of range/);
    x.dispose();
    seq.dispose();
  });

  it('names a shared module by its first depth-first path, whichever lookup came first', () => {
    const shared = new Leaf();
    const net = new (class Twice extends Module {
      a = new (class A extends Module {
        s = shared;
        forward() {}
      })();
      b = new (class B extends Module {
        s = shared;
        forward() {}
      })();
      forward() {}
    })();
    expect(net.getSubmodule('b.s')).toBe(shared);
    expect(shared.path).toBe('a.s');
    expect(net.namedModules().map(([k]) => k)).toEqual(['', 'a', 'a.s', 'b']);
    net.dispose();
  });

  it('re-names what a subtree walk named first once the root walks, and only then', () => {
    const shared = new Leaf();
    class Holder extends Module {
      s = shared;
      forward(x: tf.Tensor): tf.Tensor {
        return this.s.forward(x);
      }
    }
    const net = new (class Twice extends Module {
      a = new Holder();
      b = new Holder();
      forward(x: tf.Tensor): tf.Tensor {
        return this.b.forward(this.a.forward(x));
      }
    })();
    const x = tf.ones([1, 2]);
    tf.dispose(net.b.forward(x)); // the subtree runs first: its walk names shared "s" under b
    expect(shared.path).toBe('s');
    tf.dispose(net.forward(x)); // the root's first forward walks the whole tree
    expect(shared.path).toBe('a.s');
    net.b.namedModules(); // a later subtree walk does not take it back
    expect(shared.path).toBe('a.s');
    x.dispose();
    net.dispose();
  });

  it('walks a never-walked tree on its first forward, so errors inside name the module by its path', () => {
    const seq = new Sequential([new Linear(3, 4), new Linear(5, 2)]);
    const x = tf.ones([1, 3]);
    expect(() => seq.forward(x)).toThrow(/Module "1" \(Linear\) expects its input to have shape \[\.\.\., 5\]/);
    x.dispose();
    seq.dispose();
  });

  it('refuses a forward declared as an arrow-function field, which would run unscoped', () => {
    const m = new (class Arrow extends Module {
      forward = (x: tf.Tensor): tf.Tensor => tf.add(x, x);
    })();
    expect(() => m.namedModules()).toThrow(/Module Arrow has its forward as an instance field \(an arrow function\).*Declare it as a method/);
    const registry = HookRegistry.checkIfExistsOrInitialize(m);
    expect(() => registry.registerHook(new (class Noop extends ModelHook {})(), 'noop')).toThrow(/has its forward as an instance field/);
    expect(registry.hookOrder).toEqual([]);
    // Hooks installed on a proper module keep the check quiet.
    const ok = new Leaf();
    HookRegistry.checkIfExistsOrInitialize(ok).registerHook(new (class Noop extends ModelHook {})(), 'noop');
    expect(() => ok.namedModules()).not.toThrow();
    ok.dispose();
  });

  it('refuses an async forward when the module is constructed', () => {
    class Later extends Module {
      async forward(): Promise<void> {}
    }
    expect(() => new Later()).toThrow(/Later.forward is async, but tfjs kernels and memhooks hooks are synchronous/);
  });

  it('refuses plain arrays of modules with a hint to use ModuleList', () => {
    const m = new (class Bad extends Module {
      blocks = [new Leaf()];
      forward() {}
    })();
    expect(() => m.namedModules()).toThrow(/Field "blocks" .* plain array .* ModuleList/);
    m.blocks[0]!.dispose();
  });

  it('dispose releases every parameter', () => {
    const before = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBe(before + 9);
    net.blocks.at(0).weight.toHost();
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(net.scale.isDisposed).toBe(true);
  });

  it('prints the tree with paths, classes and bytes', () => {
    const net = new Net();
    net.head.weight.toHost();
    expect(net.toString()).toBe(
      [
        '(root): Net 100 B (device 84 B, host 16 B, disk 0 B)',
        '  embed: Leaf 24 B',
        '  blocks: ModuleList 48 B',
        '    0: Leaf 24 B',
        '    1: Leaf 24 B',
        '  head: Leaf 24 B (device 8 B, host 16 B, disk 0 B)',
      ].join('\n'),
    );
    net.dispose();
  });
});

describe('@module decorator', () => {
  it('registers the class by name, records options and constructor arguments', () => {
    @module({ noSplit: true, keepInFp32: ['norm'], skipLayerwiseCasting: ['^proj'] })
    class DecoratedBlock extends Module {
      constructor(readonly dim: number, readonly opts: { heads: number }) {
        super();
      }
      forward() {}
    }
    const b = new DecoratedBlock(8, { heads: 2 });
    expect(b).toBeInstanceOf(DecoratedBlock);
    expect(b.constructor.name).toBe('DecoratedBlock');
    expect(getConstructorArgs(b)).toEqual([8, { heads: 2 }]);
    expect(getModuleOptions(b)).toMatchObject({ noSplit: true, keepInFp32: ['norm'], skipLayerwiseCasting: ['^proj'] });
    expect(container.resolve(moduleToken('DecoratedBlock'))).toBe(DecoratedBlock);

    @module()
    class Derived extends DecoratedBlock {
      constructor(readonly extra: string) {
        super(4, { heads: 1 });
      }
    }
    expect(getConstructorArgs(new Derived('x'))).toEqual(['x']);
    expect(getModuleOptions(Derived)).toEqual({});
  });

  it('refuses two classes under one name', () => {
    @module({ name: 'SameName' })
    class First extends Module {
      forward() {}
    }
    expect(First.name).toBe('First');
    expect(() => {
      @module({ name: 'SameName' })
      class Second extends Module {
        forward() {}
      }
      return Second;
    }).toThrow(/module class named "SameName" is already registered/);
  });
});
