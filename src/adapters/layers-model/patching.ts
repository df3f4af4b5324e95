import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { copyFunctionIdentity } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { describeParameter } from '../../models/paths.js';
import type { LayerVariableLike } from '../../models/wrapped/tfjsShapes.js';

/** Undoes one patch exactly: own properties that existed before are put back, ours are deleted. */
export type Restore = () => void;

/**
 * Defines own properties on `target` and returns how to restore the previous own properties (or their
 * absence). Everything memhooks puts on a tfjs object goes through here, so unwrapping leaves nothing.
 */
export function defineOwn(target: object, props: Record<string, PropertyDescriptor>): Restore {
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const key of Object.keys(props)) saved.set(key, Object.getOwnPropertyDescriptor(target, key));
  for (const [key, desc] of Object.entries(props)) Object.defineProperty(target, key, { configurable: true, ...desc });
  return () => {
    for (const [key, desc] of saved) {
      if (desc === undefined) delete (target as Record<string, unknown>)[key];
      else Object.defineProperty(target, key, desc);
    }
  };
}

/** The getter of an accessor property found on `proto` or further up its chain. */
function findGetter(proto: object | null, key: string): (() => unknown) | undefined {
  for (let o = proto; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const desc = Object.getOwnPropertyDescriptor(o, key);
    if (desc !== undefined) return desc.get;
  }
  return undefined;
}

/** A method-like own property: writable and non-enumerable, as a prototype method looks to code that inspects it. */
export function methodDescriptor(fn: Function, like: Function | undefined): PropertyDescriptor {
  if (like !== undefined) copyFunctionIdentity(fn, like);
  return { value: fn, writable: true, enumerable: false, configurable: true };
}

/**
 * Puts a LayerVariable behind its Parameter. tfjs-layers touches weights only through `read()`, `write()`,
 * `dispose()` and the `trainable` accessor (which sets `val.trainable`), so these are overridden on the instance:
 *
 * - `read()` returns `param.read()`: the device tensor, or a ParameterNotResidentError naming the
 *   parameter when its bytes are on the host (a layer ran without the hook that onloads it).
 * - `write(v)` assigns through the Parameter (setWeights, loadWeights, BatchNormalization's moving stats
 *   in training) on any tier; the constraint is applied as tfjs does.
 * - `dispose()` disposes the Parameter (model.dispose()).
 * - `val` becomes an accessor for the Parameter's current device tensor (undefined while on the host): the
 *   Parameter re-creates the tf.Variable (same name, same trainability) when the bytes come back.
 * - `trainable` reads the LayerVariable's own flag (`trainable_`, as the prototype getter does); setting it
 *   sets `trainable_` and `param.trainable`, so it works on any tier (the prototype setter would write to
 *   `val.trainable`, undefined on the host): `layer.trainable = false`, Sequential.build(), compile().
 *
 * The Parameter adopted `val` itself, so nothing is copied. The returned Restore removes the own `trainable`
 * accessor (the prototype's applies again) and puts `val` back as a plain data property holding the current Variable.
 */
export function interceptVariable(lv: LayerVariableLike, param: Parameter): Restore {
  // What val was when the Parameter was disposed, so that an unwrapped LayerVariable reports itself disposed.
  let last: tf.Tensor = lv.val;
  const current = (): tf.Tensor => param.peek() ?? last;

  function read(): tf.Tensor {
    return param.read();
  }
  function write(this: unknown, value: tf.Tensor): unknown {
    if (param.peek()?.id === value?.id) return lv;
    const constraint = lv.constraint;
    if (constraint == null) {
      param.assign(value);
    } else {
      const constrained = tf.tidy(() => constraint.apply(value));
      param.assign(constrained);
      if (constrained !== value) constrained.dispose();
    }
    return lv;
  }
  function dispose(): void {
    last = current();
    param.dispose();
  }

  const proto = Object.getPrototypeOf(lv) as Record<string, Function | undefined>;
  const trainableGetter = findGetter(proto, 'trainable');
  const restoreMethods = defineOwn(lv, {
    read: methodDescriptor(read, proto.read),
    write: methodDescriptor(write, proto.write),
    dispose: methodDescriptor(dispose, proto.dispose),
    val: {
      get: () => param.peek(),
      set: () => {
        throw new InvalidArgumentError(
          `LayerVariable "${lv.name}" is wrapped by memhooks as parameter ${describeParameter(param)}; its value cannot be ` +
            `replaced. Use layer.setWeights() (or the parameter's assign()), or unwrapLayersModel(model) first.`,
        );
      },
      enumerable: true,
      configurable: true,
    },
    // The prototype's setter writes `this.val.trainable`, which is undefined while the bytes are on the host
    // (Sequential.build, Container.trainable, summary, compile all set it). The LayerVariable keeps its own
    // flag in `trainable_` as tfjs does; the Variable's flag goes through the Parameter, which sets the live
    // Variable on the device and remembers the flag for the Variable it re-creates at the next upload.
    trainable: {
      get(this: unknown) {
        return trainableGetter !== undefined ? trainableGetter.call(lv) : (lv as unknown as { trainable_: boolean }).trainable_;
      },
      set(this: unknown, value: boolean) {
        (lv as unknown as { trainable_: boolean }).trainable_ = value;
        param.trainable = value;
      },
      enumerable: false,
      configurable: true,
    },
  });
  return () => {
    const value = current();
    restoreMethods();
    Object.defineProperty(lv, 'val', { value, writable: true, enumerable: true, configurable: true });
  };
}
