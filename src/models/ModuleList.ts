import { InvalidArgumentError } from '../base/errors.js';
import { Module, type Member } from './Module.js';
import { describeModule } from './paths.js';

/** An indexed list of modules, as torch.nn.ModuleList: children are named "0", "1", … */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** A ModuleList is a container; calling it is a mistake that should say so. */
  forward(..._args: unknown[]): any {
    throw new InvalidArgumentError(
      `ModuleList ${describeModule(this)} has no forward. Iterate over it and call each module, or use Sequential.`,
    );
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    const m = this.items.at(index);
    if (m === undefined) {
      throw new InvalidArgumentError(`Index ${index} is out of range for ModuleList ${describeModule(this)} of length ${this.length}.`);
    }
    return m;
  }

  push(...modules: M[]): this {
    for (const m of modules) {
      if (!(m instanceof Module)) {
        throw new InvalidArgumentError(`ModuleList ${describeModule(this)} holds modules only; item ${this.items.length} is not a Module.`);
      }
      this.items.push(m);
    }
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  protected override ownMembers(): Array<[string, Member]> {
    return this.items.map((m, i) => [String(i), m]);
  }
}

/** Modules called one after another, each on the previous one's output. */
export class Sequential<M extends Module = Module> extends ModuleList<M> {
  override forward(input: unknown): any {
    let x = input;
    for (const m of this) x = m.forward(x);
    return x;
  }
}
