import * as tf from '@tensorflow/tfjs-core';
import { Module, ModelHook, Parameter, type NextForward } from '../../src/index.js';

/** A module that records its calls in a shared log and adds its bias. */
export class Recorder extends Module {
  bias = new Parameter(tf.scalar(1));
  constructor(readonly log: string[] = []) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    this.log.push('forward');
    return tf.add(x, this.bias.read());
  }
}

/** A hook that logs `<name>.pre` and `<name>.post`. */
export class LogHook extends ModelHook {
  constructor(readonly label: string, readonly log: string[]) {
    super();
  }
  override preForward(_m: Module, args: any[]): any[] {
    this.log.push(`${this.label}.pre`);
    return args;
  }
  override postForward(_m: Module, out: any): any {
    this.log.push(`${this.label}.post`);
    return out;
  }
}

/** A hook that replaces the inner call, logging around next(). */
export class WrapHook extends LogHook {
  override newForward(_m: Module, args: any[], next: NextForward): any {
    this.log.push(`${this.label}.new`);
    const out = next(...args);
    this.log.push(`${this.label}.new-end`);
    return out;
  }
}
