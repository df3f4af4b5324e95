import { InvalidArgumentError, UnsupportedModelError } from '../base/errors.js';
import { Module } from './Module.js';
import { describeValue } from './paths.js';

/**
 * What a raw tfjs model looks like. memhooks never imports tfjs-layers or tfjs-converter here (both are
 * optional), so the models are recognised by the methods their classes define.
 */
function looksLikeLayersModel(value: object): boolean {
  const v = value as Record<string, unknown>;
  return Array.isArray(v.layers) && typeof v.predict === 'function' && typeof v.getLayer === 'function';
}

function looksLikeGraphModel(value: object): boolean {
  const v = value as Record<string, unknown>;
  return typeof v.execute === 'function' && typeof v.executeAsync === 'function' && typeof v.predict === 'function';
}

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
  if (typeof value === 'object' && value !== null) {
    if (looksLikeLayersModel(value)) {
      throw new UnsupportedModelError(
        `${calledAs} needs a memhooks Module, got a tfjs LayersModel. Wrap it first: ` +
          `const root = wrapLayersModel(model); then call ${calledAs} with root (the model's predict/apply then run through root's hooks).`,
      );
    }
    if (looksLikeGraphModel(value)) {
      throw new UnsupportedModelError(
        `${calledAs} needs a memhooks Module, got a tfjs GraphModel. Wrap it first: ` +
          `const root = wrapGraphModel(model); then call ${calledAs} with root (the model's predict/execute/executeAsync then run through root's hooks).`,
      );
    }
  }
}
