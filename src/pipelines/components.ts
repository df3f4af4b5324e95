import { InvalidArgumentError } from '../base/errors.js';
import { refuseRawTfjsModel } from '../models/assertModule.js';
import { Module } from '../models/Module.js';
import { describeModule, describeValue } from '../models/paths.js';
import { appliedStrategies } from '../strategies/registry.js';

/** A pipeline's named components. */
export type Components = Record<string, Module>;

/** Checks the constructor argument: a plain object of distinct modules under identifier-like names. */
export function checkComponents(components: unknown): void {
  if (typeof components !== 'object' || components === null || Array.isArray(components)) {
    throw new InvalidArgumentError(`new Pipeline(components) needs an object of named modules ({ textEncoder, denoiser, vae }), got ${describeValue(components)}.`);
  }
  const seen = new Map<Module, string>();
  for (const [name, value] of Object.entries(components)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new InvalidArgumentError(`Pipeline component name ${JSON.stringify(name)} is not an identifier. Use names such as "textEncoder" or "vae".`);
    }
    // A raw LayersModel or GraphModel gets its own advice (wrapLayersModel, or that a GraphModel cannot be wrapped yet).
    if (!(value instanceof Module)) refuseRawTfjsModel(value, `new Pipeline({ ${name} })`);
    if (!(value instanceof Module)) {
      throw new InvalidArgumentError(`Pipeline component "${name}" must be a Module, got ${describeValue(value)}. Wrap tfjs models with wrapLayersModel first.`);
    }
    const other = seen.get(value);
    if (other !== undefined) {
      throw new InvalidArgumentError(`Pipeline components "${other}" and "${name}" are the same module; each component must be its own module.`);
    }
    seen.set(value, name);
  }
}

/** One strategy applied somewhere inside a component. */
export interface AppliedInComponent {
  component: string;
  strategy: string;
  module: Module;
}

/** The strategies applied to any module of each component (names from `only`, when given). */
export function strategiesIn(components: Components, only?: readonly string[]): AppliedInComponent[] {
  const out: AppliedInComponent[] = [];
  for (const [component, root] of Object.entries(components)) {
    for (const m of root.modules()) {
      for (const strategy of appliedStrategies(m)) {
        if (only === undefined || only.includes(strategy)) out.push({ component, strategy, module: m });
      }
    }
  }
  return out;
}

/** `"denoiser"`, or `"denoiser" (module "blocks.0" (Linear))` when the strategy sits below the component's root. */
export function describeWhere(found: AppliedInComponent, components: Components): string {
  return found.module === components[found.component] ? `"${found.component}"` : `"${found.component}" (at module ${describeModule(found.module)})`;
}

/** The component names of a `modelCpuOffloadSeq` string such as 'textEncoder->denoiser->vae'. */
export function parseOffloadSeq(seq: unknown, className: string): string[] {
  if (typeof seq !== 'string' || seq.trim() === '') {
    throw new InvalidArgumentError(
      `${className}.modelCpuOffloadSeq is not set, so model CPU offload does not know the order in which components run. ` +
        `Declare it on the pipeline class: static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae'.`,
    );
  }
  const names = seq.split('->').map((s) => s.trim());
  if (names.some((n) => n === '')) {
    throw new InvalidArgumentError(`${className}.modelCpuOffloadSeq ${JSON.stringify(seq)} has an empty name. Write component names joined by '->'.`);
  }
  return names;
}
