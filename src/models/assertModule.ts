import { InvalidArgumentError, UnsupportedModelError } from '../base/errors.js';
import { Module } from './Module.js';
import { describeValue } from './paths.js';
// Recognised by shape (the methods their classes define): memhooks never imports the optional tfjs-layers or
// tfjs-converter here.
import { isGraphModelLike, isLayersModelLike } from './wrapped/tfjsShapes.js';

/**
 * Refuses anything that is not a memhooks Module before an entry point touches it, so that a raw
 * LayersModel or GraphModel gets a message naming the fix instead of `module.modules is not a function`.
 * `calledAs` names the public function, as the user wrote it (e.g. 'applySequentialOffload').
 */
export function assertModule(value: unknown, calledAs: string): asserts value is Module {
  if (value instanceof Module) return;
  refuseRawTfjsModel(value, calledAs);
  throw new InvalidArgumentError(`${calledAs} needs a memhooks Module, got ${describeValue(value)}. Pass a Module (a subclass of Module, or wrapLayersModel(model) for a tfjs LayersModel).`);
}

/** Throws, naming the fix, when `value` is a raw tfjs LayersModel or GraphModel; returns otherwise. */
export function refuseRawTfjsModel(value: unknown, calledAs: string): void {
  if (isLayersModelLike(value)) {
    throw new UnsupportedModelError(
      `${calledAs} needs a memhooks Module, got a tfjs LayersModel. Wrap it first: ` +
        `const root = wrapLayersModel(model); then call ${calledAs} with root (the model's predict/apply then run through root's hooks).`,
    );
  }
  if (isGraphModelLike(value)) {
    throw new UnsupportedModelError(
      `${calledAs} needs a memhooks Module, got a tfjs GraphModel. Wrap it first: ` +
        `const root = wrapGraphModel(model); then call ${calledAs} with root (the model's predict/execute/executeAsync then run through root's hooks).`,
    );
  }
}
