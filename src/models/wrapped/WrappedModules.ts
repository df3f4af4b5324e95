import type { TfjsLayersModel } from './TfjsLayersModel.js';
import { Module, type Member } from '../Module.js';
import type { Parameter } from '../Parameter.js';
import type { CallFn, LayerLike } from './tfjsShapes.js';

/**
 * The module of one computing tfjs layer. Its `forward(inputs, kwargs)` is the layer's own `call` (as it
 * was before wrapping) with `this` = the layer; the layer's instance `call` is redirected here, so every
 * execution of the layer (predict, apply, execute, a parent model's graph) runs this module's hooks.
 * Its parameters are the layer's weights, keyed by the weight's name inside the layer (`kernel`, `bias`,
 * `forward_lstm/kernel` for a Bidirectional).
 */
export class WrappedLayer extends Module {
  readonly layer: LayerLike;
  /** The tfjs class of the layer (`Conv2D`, `BatchNormalization`, …). */
  readonly layerClassName: string;
  private readonly originalCall: CallFn;
  private readonly params: ReadonlyArray<readonly [string, Parameter]>;

  constructor(layer: LayerLike, layerClassName: string, originalCall: CallFn, params: ReadonlyArray<readonly [string, Parameter]>) {
    super();
    this.layer = layer;
    this.layerClassName = layerClassName;
    this.originalCall = originalCall;
    this.params = params;
  }

  forward(inputs: unknown, kwargs?: unknown): any {
    return this.originalCall.call(this.layer, inputs, kwargs);
  }

  /** Parameters come from the layer's weights, not from fields (layer weight names are not JS identifiers). */
  protected override ownMembers(): Array<[string, Member]> {
    return this.params.map(([key, p]) => [key, p]);
  }
}

/**
 * The module of a nested Sequential or functional model used as a layer. Its children are the modules of
 * its layers (InputLayers excluded), in `layers` order; its forward is the sub-model's own `call`.
 */
export class WrappedContainer extends Module {
  readonly layer: LayerLike;
  readonly layerClassName: string;
  protected readonly originalCall: CallFn;
  private readonly members: Array<[string, Module]> = [];

  constructor(layer: LayerLike, layerClassName: string, originalCall: CallFn) {
    super();
    this.layer = layer;
    this.layerClassName = layerClassName;
    this.originalCall = originalCall;
  }

  forward(inputs: unknown, kwargs?: unknown): any {
    return this.originalCall.call(this.layer, inputs, kwargs);
  }

  /** @internal Used while building the tree. */
  addChild(name: string, child: Module): void {
    this.members.push([name, child]);
  }

  protected override ownMembers(): Array<[string, Member]> {
    return [...this.members];
  }
}

/** The model methods that run the root module's hooks. */
export const ENTRY_POINTS = ['predict', 'predictOnBatch', 'execute', 'call'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

interface PendingEntry {
  name: EntryPoint;
  fn: (...args: unknown[]) => unknown;
}

/**
 * The root of a wrapped LayersModel. The model's `predict`, `predictOnBatch`, `execute` and `call` (the
 * last is what `model.apply` runs) each go once through this module's hook chain, and the innermost
 * function is the entry point's own original method, called with the (possibly hook-modified) arguments.
 * Called directly, `forward(inputs, kwargs?)` runs the model's original `call` and returns what `model.apply`
 * returns on concrete tensors: a Tensor for a single-output model, an array in output order for several.
 */
export class WrappedModel extends WrappedContainer {
  readonly model: TfjsLayersModel;
  /** The entry point whose hook chain is being run (undefined outside one and when forward is called directly). */
  private active: EntryPoint | undefined;
  /** The method the innermost forward must call; cleared while it runs so that re-entry sees none. */
  private pending: PendingEntry | undefined;

  constructor(model: TfjsLayersModel, layerClassName: string, originalCall: CallFn) {
    super(model as unknown as LayerLike, layerClassName, originalCall);
    this.model = model;
  }

  /** Which model method is running the root hooks now: lets a hook tell `predict`'s `[x, config]` from `execute`'s `[inputs, outputs]`. */
  get entryPoint(): EntryPoint | undefined {
    return this.active;
  }

  override forward(...args: unknown[]): any {
    const entry = this.pending;
    if (entry === undefined) {
      // As model.apply on concrete tensors: a Tensor for one output, the array (in output order) for several.
      const out = this.originalCall.apply(this.model, args as [unknown, unknown]);
      return Array.isArray(out) && out.length === 1 ? out[0] : out;
    }
    // A hook may call next() several times (batch slicing): each call runs the entry point again.
    this.pending = undefined;
    try {
      return entry.fn.apply(this.model, args);
    } finally {
      this.pending = entry;
    }
  }

  /** @internal Runs `fn` (an original model method) as the innermost function of this module's hook chain. */
  runEntry(name: EntryPoint, fn: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const saved = { active: this.active, pending: this.pending };
    this.active = name;
    this.pending = { name, fn };
    try {
      return (this.forward as (...a: unknown[]) => unknown)(...args);
    } finally {
      this.active = saved.active;
      this.pending = saved.pending;
    }
  }
}

type Ctor<T> = abstract new (...args: any[]) => T;
const namedClasses = new Map<Function, Map<string, Function>>();

/**
 * A subclass of `base` named after the tfjs class, so that `root.toString()` and error messages say
 * `Conv2D` or `Sequential` rather than `WrappedLayer`. `instanceof base` still holds.
 */
export function namedSubclass<C extends Ctor<Module>>(base: C, name: string): C {
  let byName = namedClasses.get(base);
  if (byName === undefined) namedClasses.set(base, (byName = new Map()));
  let cls = byName.get(name);
  if (cls === undefined) {
    // The class body is empty: only the name differs.
    cls = class extends (base as unknown as new (...args: any[]) => object) {};
    Object.defineProperty(cls, 'name', { value: name, configurable: true });
    byName.set(name, cls);
  }
  return cls as C;
}
