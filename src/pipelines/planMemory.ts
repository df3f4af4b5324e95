/**
 * pipeline.planMemory: the planner over all of a pipeline's components at once, with diffusers' model-offload
 * chain (enableModelCpuOffload) as one more candidate. The planner sits above this floor and is reached through
 * planSlot.ts; it sees the components as the children of one root (PipelineComponentsRoot), named as in the
 * pipeline, so that its candidates (group offloading, partial residency, ...) span the whole pipeline and its
 * module paths read "denoiser.blocks.0".
 */
import { InvalidArgumentError } from '../base/errors.js';
import { Module } from '../models/Module.js';
import { describeValue } from '../models/paths.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import type { Components } from './components.js';
import { pipelinePlannerSlot, type ExtraPlanCandidate, type MemoryPlan, type PlanCosts, type PlanMemoryOptions, type PlanPrediction } from './planSlot.js';

export type { MemoryPlan } from './planSlot.js';

/** pipeline.planMemory's options: the planner's, with `sample` optional where the pipeline class has a default call. */
export type PipelinePlanOptions = Omit<PlanMemoryOptions, 'sample'> & { sample?: () => unknown };

/** The model-offload chain on and off: disable() drops only a chain that enable() turned on, nothing applied since. */
export interface ModelOffloadSwitch {
  enable(): void;
  disable(): void;
}

/** What planning needs of the pipeline's class: its name, and the order model offload chains components in. */
export interface PlannedPipelineClass {
  readonly name: string;
  readonly modelCpuOffloadSeq: string | undefined;
  readonly excludeFromCpuOffload: readonly string[];
}

/** The components as the children of one module; its forward is never called (the sample runs the pipeline). */
export class PipelineComponentsRoot extends Module {
  constructor(components: Components) {
    super();
    for (const [name, m] of Object.entries(components)) {
      if (name in this) {
        throw new InvalidArgumentError(
          `pipeline.planMemory: component "${name}" has the name of a Module member, so the planner cannot see the components as one tree. Rename the component.`,
        );
      }
      Object.defineProperty(this, name, { value: m, enumerable: true, configurable: false, writable: false });
    }
  }

  forward(): never {
    throw new InvalidArgumentError('The root that pipeline.planMemory plans over is not callable: run the pipeline itself.');
  }
}

const weightBytes = (m: Module): number => m.parameters().reduce((n, p) => n + p.byteLength, 0);

/**
 * The model-offload chain as a candidate: one component of the chain on the device at a time, each uploaded once
 * per call (a denoiser called for every step stays on the device between its steps). Components the class
 * excludes from offload stay resident, and those outside the chain stay on the device from their first use to the
 * end of the call: both count in every moment's peak.
 */
function modelOffloadCandidate(all: Components, cls: PlannedPipelineClass, root: Module, switcher: ModelOffloadSwitch): ExtraPlanCandidate {
  const chain = new Set(cls.modelCpuOffloadSeq!.split('->').map((n) => n.trim()));
  const excluded = new Set(cls.excludeFromCpuOffload);
  const components = Object.entries(all);
  const chained = components.filter(([name]) => chain.has(name) && !excluded.has(name));
  const alwaysThere = components.filter(([name]) => !chained.some(([c]) => c === name)).reduce((n, [, m]) => n + weightBytes(m), 0);
  const moved = components.filter(([name]) => !excluded.has(name)).reduce((n, [, m]) => n + weightBytes(m), 0);
  return {
    name: 'model offload chain',
    lossless: true,
    why: 'enableModelCpuOffload(): each component moves to the device whole when it starts and leaves when the next one starts',
    predict(costs: PlanCosts): PlanPrediction {
      const peak = alwaysThere + Math.max(0, ...chained.map(([name, m]) => weightBytes(m) + costs.activationPeakBytes(name)));
      return { peakDeviceBytes: peak, hostBytes: moved, diskBytes: 0, ms: costs.residentMs + moved * costs.msPerByte };
    },
    apply(): StrategyHandle {
      switcher.enable();
      let removed = false;
      const remove = (): void => {
        if (removed) return;
        removed = true;
        switcher.disable();
      };
      return {
        name: 'model offload chain',
        module: root,
        get removed() {
          return removed;
        },
        remove,
        [Symbol.dispose]: remove,
      };
    },
  };
}

/**
 * Plans the pipeline's memory: the planner's candidates over all components, plus the model-offload chain when the
 * class declares its modelCpuOffloadSeq and no weight is on the disk tier (model offload refuses those).
 */
export async function planPipelineMemory(all: Components, cls: PlannedPipelineClass, options: PipelinePlanOptions, modelOffload: ModelOffloadSwitch): Promise<MemoryPlan> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`pipeline.planMemory(options) needs an object such as { deviceBudget: '300MB', sample }, got ${describeValue(options)}.`);
  }
  const { sample } = options;
  if (typeof sample !== 'function') {
    throw new InvalidArgumentError(
      `pipeline.planMemory: ${cls.name} has no default call to plan on, so option \`sample\` must be a function that runs the pipeline once ` +
        `(e.g. sample: () => pipe.run(inputs)), got ${describeValue(sample)}.`,
    );
  }
  const plan = pipelinePlannerSlot();
  const root = new PipelineComponentsRoot(all);
  const chained = typeof cls.modelCpuOffloadSeq === 'string' && cls.modelCpuOffloadSeq.trim() !== '';
  const onDisk = Object.values(all).some((m) => m.memoryFootprint().disk > 0);
  const extra = chained && !onDisk ? [modelOffloadCandidate(all, cls, root, modelOffload)] : [];
  return plan(root, { ...options, sample }, extra);
}
