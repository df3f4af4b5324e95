import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyStrategy,
  appliedStrategies,
  Module,
  ModuleList,
  strategy,
  StrategyConflictError,
} from '../../src/index.js';
import { createContainer, Strategy, type Undo } from '../../src/plugin.js';
import { useBackend } from '../helpers/backends.js';
import { Recorder } from '../helpers/modules.js';

/**
 * The registry's side of settings, with a plugin: a replaceable strategy that labels modules. Each
 * application takes over the modules it reaches from the earlier ones, and reports superseded when it
 * has none left, as setAttentionProcessor does with Attentions.
 */
function labelPlugin() {
  const c = createContainer();
  const owner = new Map<Module, { governs: Set<Module> }>();
  const labels = new Map<Module, string>();

  @strategy('label', { container: c })
  class Label extends Strategy<{ label: string }> {
    override readonly replaceable = true;
    override apply(module: Module, { label }: { label: string }): Undo {
      const me = { governs: new Set<Module>() };
      for (const m of module.modules()) {
        owner.get(m)?.governs.delete(m);
        owner.set(m, me);
        me.governs.add(m);
        labels.set(m, label);
      }
      let removed = false;
      return {
        remove: () => {
          for (const m of me.governs) [owner, labels].forEach((map) => map.delete(m));
          removed = true;
        },
        get superseded() {
          return !removed && me.governs.size === 0;
        },
      };
    }
  }

  @strategy('plain', { container: c })
  class Plain extends Strategy {
    override apply(): Undo {
      return { remove: () => {} };
    }
  }
  void Label;
  void Plain;
  const apply = (m: Module, label: string) => applyStrategy<{ label: string }>(m, 'label', { label }, { container: c });
  return { c, labels, apply };
}

describe('replaceable strategies (settings) in the registry', () => {
  beforeAll(() => useBackend('cpu'));

  it('applying a setting again supersedes what it took over; a superseded remove() neither undoes nor drops the live record', () => {
    const { labels, apply } = labelPlugin();
    const tree = new ModuleList([new Recorder(), new Recorder()]);
    const a = apply(tree, 'a');
    // A partial takeover first, so that `a` stays live when `b` comes on the same module.
    const one = apply(tree.at(0), 'one');
    expect(a.removed).toBe(false);
    const b = apply(tree, 'b');
    // b took over everything: a and one are superseded, and drop out of the records.
    expect([a.removed, one.removed, b.removed]).toEqual([true, true, false]);
    expect(appliedStrategies(tree)).toEqual(['label']);
    expect(appliedStrategies(tree.at(0))).toEqual([]);
    a.remove();
    // a's remove() neither undid b's labels nor dropped b's record.
    expect(labels.get(tree)).toBe('b');
    expect(appliedStrategies(tree)).toEqual(['label']);
    b.remove();
    expect(labels.size).toBe(0);
    expect(appliedStrategies(tree)).toEqual([]);
    tree.dispose();
  });

  it('removing a live setting drops only its own record, next to later settings on a descendant', () => {
    const { labels, apply } = labelPlugin();
    const tree = new ModuleList([new Recorder(), new Recorder()]);
    const first = apply(tree.at(0), 'first');
    const whole = apply(tree, 'whole');
    expect(first.removed).toBe(true);
    // Retake one child: `whole` keeps the rest and stays live next to the new application on the same module.
    const again = apply(tree.at(1), 'again');
    const second = apply(tree.at(1), 'second');
    expect([whole.removed, again.removed, second.removed]).toEqual([false, true, false]);
    expect(appliedStrategies(tree)).toEqual(['label']);
    expect(appliedStrategies(tree.at(1))).toEqual(['label']);
    whole.remove();
    expect(labels.get(tree.at(1))).toBe('second');
    expect(appliedStrategies(tree.at(1))).toEqual(['label']);
    second.remove();
    expect(appliedStrategies(tree.at(1))).toEqual([]);
    expect(labels.size).toBe(0);
    tree.dispose();
  });

  it('a strategy that is not replaceable is still refused a second time, next to a setting', () => {
    const { c, apply } = labelPlugin();
    const tree = new ModuleList([new Recorder()]);
    apply(tree, 'a');
    const plain = applyStrategy<undefined>(tree, 'plain', undefined, { container: c });
    expect(() => applyStrategy<undefined>(tree.at(0), 'plain', undefined, { container: c })).toThrow(StrategyConflictError);
    plain.remove();
    tree.dispose();
  });
});
