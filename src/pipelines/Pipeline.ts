import { join } from '../base/platform/path.js';
import { ERROR_CODES, InvalidArgumentError, MemhooksError, StrategyConflictError } from '../base/errors.js';
import { HookRegistry } from '../hooks/HookRegistry.js';
import type { SavePretrainedOptions } from '../loading/savePretrained.js';
import type { Module } from '../models/Module.js';
import { describeValue } from '../models/paths.js';
import type { StrategyHandle } from '../strategies/Strategy.js';
import { applySequentialOffload } from '../strategies/cpu-offload/applySequentialOffload.js';
import { cpuOffloadWithHook, type CpuOffloadHandle } from '../strategies/cpu-offload/cpuOffloadWithHook.js';
import type { MaxMemory } from '../models/deviceTypes.js';
import { applyGroupOffloading } from '../strategies/group-offloading/applyGroupOffloading.js';
import { DEVICE_MAP, GROUP_OFFLOADING, MODEL_CPU_OFFLOAD, OFFLOADING_STRATEGIES, SEQUENTIAL_OFFLOAD } from '../strategies/shared/offloadingNames.js';
import { GROUP_OFFLOADING_OPTION_KEYS, resolveConfig as resolveGroupConfig, type GroupOffloadingOptions } from '../strategies/group-offloading/options.js';
import { resolveExecutionDevice } from '../strategies/cpu-offload/options.js';
import { checkOptionKeys } from '../strategies/optionKeys.js';
import { applyLayerwiseCasting } from '../strategies/layerwise-casting/applyLayerwiseCasting.js';
import { LAYERWISE_CASTING_OPTION_KEYS, type LayerwiseCastingOptions } from '../strategies/layerwise-casting/options.js';
import { removeStrategiesIn } from '../strategies/registry.js';
import { assignComponentsToDevices, autoRefused, backendNamed, placementBudgets } from './balanced.js';
import { checkComponents, describeWhere, parseOffloadSeq, strategiesIn, type Components } from './components.js';
import { loadPipelineComponents, readPipelineIndex, savePipelineFolder, type PipelineFromPretrainedOptions } from './folders.js';
import { gatherOnActiveBackend, placeComponents, type Placement } from './placement.js';
import { PipelineSwitches, type VaeTilingOptions } from './switches.js';
import { planPipelineMemory, type MemoryPlan, type PipelinePlanOptions } from './planMemory.js';

/** The options of enableModelCpuOffload / enableSequentialCpuOffload, checked before anything changes. */
function checkOffloadOptions(fn: string, options: unknown): void {
  const { executionDevice } = checkOptionKeys(fn, options, ['executionDevice']);
  resolveExecutionDevice(fn, executionDevice);
}

/** Which pipeline-wide offload is on, and the handles it applied (one per component). */
type OffloadMode =
  | { kind: typeof MODEL_CPU_OFFLOAD; handles: Map<string, CpuOffloadHandle> }
  | { kind: typeof SEQUENTIAL_OFFLOAD | typeof GROUP_OFFLOADING; handles: Map<string, StrategyHandle> };

const METHOD: Record<OffloadMode['kind'] | typeof DEVICE_MAP, string> = {
  [DEVICE_MAP]: 'place the components',
  [MODEL_CPU_OFFLOAD]: 'enableModelCpuOffload()',
  [SEQUENTIAL_OFFLOAD]: 'enableSequentialCpuOffload()',
  [GROUP_OFFLOADING]: 'enableGroupOffload()',
};

export interface PipelineGroupOffloadOptions extends GroupOffloadingOptions {
  /** Components left as they are (diffusers' exclude_modules): a name or a list of names. */
  excludeModules?: string | readonly string[];
}

/**
 * A set of named modules run together (diffusers' DiffusionPipeline), and the memory switches that act on
 * all of them at once. Subclasses add the method that runs the components and declare, as static fields,
 * the order in which the components run (`modelCpuOffloadSeq`) and which components model/sequential
 * offload must leave alone (`excludeFromCpuOffload`).
 *
 * @example
 * class TextToImage extends Pipeline<{ textEncoder: Encoder; denoiser: UNet; vae: Vae }> {
 *   static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae';
 *   run(ids: tf.Tensor, steps: number): tf.Tensor { ...; this.maybeFreeModelHooks(); return image; }
 * }
 * const pipe = new TextToImage({ textEncoder, denoiser, vae });
 * pipe.enableModelCpuOffload();
 */
export class Pipeline<C extends { [K in keyof C]: Module } = Components> {
  /** The order components run in, as 'a->b->c'. Required by enableModelCpuOffload. */
  static modelCpuOffloadSeq: string | undefined = undefined;
  /** Components model and sequential offload leave where they are. */
  static excludeFromCpuOffload: readonly string[] = [];
  /** The component slicing and tiling act on. */
  static vaeComponent = 'vae';

  readonly components: Readonly<C>;
  private offloadMode: OffloadMode | undefined;
  private placement: Placement | undefined;
  private readonly switches: PipelineSwitches;

  constructor(components: C) {
    checkComponents(components);
    this.components = Object.freeze({ ...components });
    this.switches = new PipelineSwitches(this.all, (this.constructor as typeof Pipeline).vaeComponent);
  }

  /** The components as a plain name → module record (C may be an interface, which has no index signature). */
  private get all(): Components {
    return this.components as unknown as Components;
  }

  /**
   * Writes the pipeline folder: model_index.json (this class; each component's @module class) and one
   * sub-folder per component in Module.savePretrained's layout. Weights are read from whatever tier they
   * are on, so an offloaded pipeline saves as it is.
   */
  async savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    savePipelineFolder(this.constructor.name, this.all, dir, options);
  }

  /**
   * Builds a pipeline from a folder written by savePretrained, or its http(s) URL: each component's class comes from
   * the @module registry, its weights go straight to their tier (`componentOptions` per component, e.g. a deviceMap);
   * `components` supplies some instead of loading them. Called on a subclass, the folder must be that class's.
   */
  static async fromPretrained<P extends Pipeline<any>>(
    this: new (components: any) => P,
    dir: string | URL,
    options: PipelineFromPretrainedOptions = {},
  ): Promise<P> {
    const index = await readPipelineIndex(dir, options);
    const className = index.className;
    if ((this as unknown) !== Pipeline && className !== this.name) {
      throw new MemhooksError(ERROR_CODES.UNKNOWN_MODULE_CLASS, `The pipeline in ${dir} was saved by ${className}, not ${this.name}. Call ${className}.fromPretrained, or Pipeline.fromPretrained to load its components into a plain Pipeline.`);
    }
    const { deviceMap, maxMemory } = options;
    // Checked before anything is loaded: the map's kind and the budgets' device names.
    if (deviceMap === 'auto') throw autoRefused();
    if (deviceMap === 'balanced') placementBudgets(maxMemory);
    else if (deviceMap !== undefined) backendNamed(deviceMap, 'deviceMap');
    const { components, loaded } = await loadPipelineComponents(dir, index, options);
    try {
      const pipe = new this(components);
      if (deviceMap !== undefined) pipe.placeComponents(deviceMap, { maxMemory });
      return pipe;
    } catch (error) {
      for (const m of Object.values(loaded)) m.dispose();
      throw error;
    }
  }

  /** Component names in declaration order. */
  get componentNames(): string[] {
    return Object.keys(this.components);
  }

  /** `{ component: device }` after a placement (placeComponents, fromPretrained's deviceMap); undefined otherwise. */
  get hfDeviceMap(): Record<string, string> | undefined {
    return this.placement === undefined ? undefined : { ...this.placement.map };
  }

  /**
   * Spreads whole components over devices (diffusers' pipeline-level device_map). 'balanced' assigns them
   * by size over the backends of `maxMemory` in diffusers' snake order (see assignComponentsToDevices); a
   * component that fits on no device goes to 'host' and runs with model offload on the first (largest)
   * device. A backend name puts every component there. Each component's forward then runs on its backend.
   */
  placeComponents(deviceMap: 'balanced' | string, options: { maxMemory?: MaxMemory } = {}): Record<string, string> {
    if (deviceMap === 'auto') throw autoRefused();
    if (typeof deviceMap !== 'string') throw new InvalidArgumentError(`deviceMap must be 'balanced' or a backend name, got ${describeValue(deviceMap)}.`);
    checkOptionKeys('placeComponents', options, ['maxMemory']);
    // The budgets are checked before the conflicts, as every option is.
    const budgets = deviceMap === 'balanced' ? placementBudgets(options.maxMemory) : undefined;
    if (this.placement !== undefined) throw new StrategyConflictError(`This pipeline is already placed (hfDeviceMap ${JSON.stringify(this.placement.map)}). Call pipeline.resetDeviceMap() first.`);
    this.assertCanOffload(DEVICE_MAP);
    let map: Record<string, string>;
    let first: string;
    if (budgets !== undefined) {
      const { devices, host } = budgets;
      const sizes = Object.entries(this.all).map(([n, m]) => [n, m.parameters().reduce((b, p) => b + p.byteLength, 0)] as [string, number]);
      map = assignComponentsToDevices(sizes, devices, host);
      first = devices[0]![0];
    } else {
      first = backendNamed(deviceMap, 'deviceMap');
      map = Object.fromEntries(this.componentNames.map((n) => [n, first]));
    }
    this.placement = placeComponents(this.all, map, first);
    return { ...map };
  }

  /**
   * Undoes a placement: removes its hooks and brings every weight of every component onto the active
   * backend (diffusers moves them to the CPU; here the device is the place they run from). A no-op when
   * nothing is mapped.
   */
  resetDeviceMap(): void {
    const placement = this.placement;
    if (placement === undefined) return;
    placement.undo();
    this.placement = undefined;
    for (const m of Object.values(this.all)) gatherOnActiveBackend(m);
  }

  /**
   * Model offload over the whole pipeline (diffusers' enable_model_cpu_offload): every component waits on
   * the host, moves to the device whole when its forward starts, and stays there until the next component
   * of `modelCpuOffloadSeq` starts. Components in `excludeFromCpuOffload` stay where they are; components
   * missing from the sequence get an unchained model offload (on the device from their first use until
   * maybeFreeModelHooks()), as in diffusers. Calling it again (or after enableSequentialCpuOffload)
   * replaces the previous model/sequential offload; the new options are checked first, so a refused call
   * leaves the previous offload in place.
   */
  enableModelCpuOffload(options: { executionDevice?: string } = {}): void {
    // Checked before dropOffloadMode(): a refused option must leave the offload in place.
    checkOffloadOptions('enableModelCpuOffload', options);
    const cls = this.constructor as typeof Pipeline;
    const seq = parseOffloadSeq(cls.modelCpuOffloadSeq, cls.name);
    this.assertCanOffload(MODEL_CPU_OFFLOAD);
    this.dropOffloadMode();
    const excluded = new Set(cls.excludeFromCpuOffload);
    const handles = new Map<string, CpuOffloadHandle>();
    this.applyAll(handles, () => {
      let previous: CpuOffloadHandle | undefined;
      for (const name of seq) {
        const m = this.all[name];
        // Names of optional components this pipeline was built without are skipped, as in diffusers.
        if (m === undefined || excluded.has(name) || handles.has(name)) continue;
        previous = cpuOffloadWithHook(m, { ...options, prevModuleHook: previous });
        handles.set(name, previous);
      }
      for (const [name, m] of Object.entries(this.all)) {
        if (!excluded.has(name) && !handles.has(name)) handles.set(name, cpuOffloadWithHook(m, options));
      }
    });
    this.offloadMode = { kind: MODEL_CPU_OFFLOAD, handles };
  }

  /**
   * Sequential offload over the whole pipeline (diffusers' enable_sequential_cpu_offload): every module of
   * every component that is not in `excludeFromCpuOffload` onloads its own weights just for its forward.
   * Replaces a previous model/sequential offload.
   */
  enableSequentialCpuOffload(options: { executionDevice?: string } = {}): void {
    checkOffloadOptions('enableSequentialCpuOffload', options);
    const cls = this.constructor as typeof Pipeline;
    this.assertCanOffload(SEQUENTIAL_OFFLOAD);
    this.dropOffloadMode();
    const excluded = new Set(cls.excludeFromCpuOffload);
    const handles = new Map<string, StrategyHandle>();
    this.applyAll(handles, () => {
      for (const [name, m] of Object.entries(this.all)) {
        if (!excluded.has(name) && m.parameters().length > 0) handles.set(name, applySequentialOffload(m, options));
      }
    });
    this.offloadMode = { kind: SEQUENTIAL_OFFLOAD, handles };
  }

  /**
   * Group offloading on every component not in `excludeModules` (diffusers' pipeline enable_group_offload),
   * with the options of applyGroupOffloading. Excluded components stay where they are.
   */
  enableGroupOffload(options: PipelineGroupOffloadOptions = {}): void {
    checkOptionKeys('enableGroupOffload', options, ['excludeModules', ...GROUP_OFFLOADING_OPTION_KEYS]);
    const { excludeModules, ...groupOptions } = options;
    const excluded = this.checkExcludeModules(excludeModules);
    const plan = Object.entries(this.all)
      .filter(([name, m]) => !excluded.has(name) && m.parameters().length > 0)
      .map(([name, m]) => {
        // One folder per component: components share module names (two "attn.to_q"), and one folder for
        // all would have one component's offload files overwrite another's.
        const disk = groupOptions.offloadToDiskPath;
        const own = typeof disk !== 'string' ? groupOptions : { ...groupOptions, offloadToDiskPath: join(disk, name) };
        // Every component's options are checked before any component changes.
        resolveGroupConfig(m, own);
        return [name, m, own] as const;
      });
    if (this.offloadMode?.kind === GROUP_OFFLOADING) {
      throw new StrategyConflictError(`Group offloading is already enabled on this pipeline. Call pipeline.removeAllHooks() first to apply it with other options.`);
    }
    this.assertCanOffload(GROUP_OFFLOADING);
    const handles = new Map<string, StrategyHandle>();
    this.applyAll(handles, () => {
      for (const [name, m, own] of plan) handles.set(name, applyGroupOffloading(m, own));
    });
    this.offloadMode = { kind: GROUP_OFFLOADING, handles };
  }

  /**
   * To be called at the end of every run (diffusers' maybe_free_model_hooks): clears the state of stateful
   * hooks (caches) in every component and, under model offload, offloads every component so the device is
   * empty between runs. The chain stays armed: the next run onloads each component again at its forward.
   */
  maybeFreeModelHooks(): void {
    for (const root of Object.values(this.all)) {
      for (const m of root.modules()) HookRegistry.get(m)?.resetStatefulHooks({ recurse: false });
    }
    if (this.offloadMode?.kind === MODEL_CPU_OFFLOAD) for (const h of this.offloadMode.handles.values()) h.offload();
  }

  /**
   * Removes every strategy from every component — offloads of any kind, the switches, strategies applied
   * by hand — newest first; every weight goes back to the device and every forward is the original again.
   */
  removeAllHooks(): void {
    if (this.placement !== undefined) this.resetDeviceMap();
    for (const root of Object.values(this.all)) removeStrategiesIn(root);
    this.offloadMode = undefined;
    this.switches.forget();
  }

  /** Runs the VAE (its encoder and decoder when it has them) one sample at a time (diffusers' enable_vae_slicing). */
  enableVaeSlicing(options: { sliceSize?: number } = {}): void {
    this.switches.enableVaeSlicing(options);
  }

  disableVaeSlicing(): void {
    this.switches.disable('vaeSlicing');
  }

  /**
   * Runs the VAE's decoder (or the VAE itself when it has none) on overlapping tiles blended at the seams
   * (diffusers' enable_vae_tiling); `encoder` options tile the encoder too (its outputScale is below 1).
   */
  enableVaeTiling(options: VaeTilingOptions): void {
    this.switches.enableVaeTiling(options);
  }

  disableVaeTiling(): void {
    this.switches.disable('vaeTiling');
  }

  /**
   * Stores the weights of one component in low precision, decoded per forward (diffusers'
   * enable_layerwise_casting on a component). Returns the handle; removeAllHooks() removes it too.
   */
  enableLayerwiseCasting(component: keyof C & string, options: LayerwiseCastingOptions = {}): StrategyHandle {
    checkOptionKeys('enableLayerwiseCasting', options, LAYERWISE_CASTING_OPTION_KEYS);
    const m = this.all[component];
    if (m === undefined) {
      throw new InvalidArgumentError(`enableLayerwiseCasting: "${String(component)}" is no component of this pipeline. Components: ${this.componentNames.join(', ')}.`);
    }
    return applyLayerwiseCasting(m, options);
  }

  /**
   * Streams key/value blocks through every Attention of every component ('chunked', the default) or slices
   * the queries ('sliced'): diffusers' enable_xformers_memory_efficient_attention.
   */
  enableMemoryEfficientAttention(kind: 'chunked' | 'sliced' = 'chunked', opts?: { sliceSize?: number; blockSize?: number }): void {
    this.switches.enableAttention(kind, opts);
  }

  /** Every Attention back to the processor it had before memhooks first set one ('naive' unless the model set another itself). */
  disableMemoryEfficientAttention(): void {
    this.switches.disable('attention');
  }

  /** The memory planner over every component, with the model-offload chain as one more candidate (docs/planner.md). */
  planMemory(options: PipelinePlanOptions): Promise<MemoryPlan> {
    return planPipelineMemory(this.all, this.constructor as typeof Pipeline, options, {
      enable: () => this.enableModelCpuOffload(),
      disable: () => void (this.offloadMode?.kind === MODEL_CPU_OFFLOAD && this.dropOffloadMode()),
    });
  }

  /** Refuses to mix pipeline-wide offloads that fight over the same weights, naming what is there. */
  private assertCanOffload(kind: OffloadMode['kind'] | typeof DEVICE_MAP): void {
    if (this.placement !== undefined) {
      throw new StrategyConflictError(
        `Cannot ${METHOD[kind]}: this pipeline is placed over devices (hfDeviceMap ${JSON.stringify(this.placement.map)}). Call pipeline.resetDeviceMap() first.`,
      );
    }
    const mine = this.offloadMode;
    const sameFamily = (k: string) => k === MODEL_CPU_OFFLOAD || k === SEQUENTIAL_OFFLOAD;
    if (mine !== undefined && mine.kind !== kind && (mine.kind === GROUP_OFFLOADING || kind === GROUP_OFFLOADING)) {
      const what = mine.kind === GROUP_OFFLOADING ? 'group offloading' : mine.kind === MODEL_CPU_OFFLOAD ? 'model CPU offload' : 'sequential CPU offload';
      throw new StrategyConflictError(
        `Cannot ${METHOD[kind]}: this pipeline has ${what} (strategy "${mine.kind}") enabled on ${[...mine.handles.keys()].map((n) => `"${n}"`).join(', ')} ` +
          `by ${METHOD[mine.kind]}. Call pipeline.removeAllHooks() first.`,
      );
    }
    const ours = new Set<Module>(mine === undefined ? [] : [...mine.handles.values()].map((h) => h.module));
    for (const found of strategiesIn(this.all, OFFLOADING_STRATEGIES)) {
      // What this pipeline applied itself is replaced (model ⇄ sequential), not refused.
      if (ours.has(found.module) && mine !== undefined && found.strategy === mine.kind && sameFamily(kind) && sameFamily(mine.kind)) continue;
      throw new StrategyConflictError(
        `Cannot ${METHOD[kind]}: component ${describeWhere(found, this.all)} has strategy "${found.strategy}" applied. ` +
          `Remove it first (its handle's remove(), or pipeline.removeAllHooks() to remove every strategy from every component).`,
      );
    }
  }

  /** Removes the model/sequential offload in place; callers check the new options first. */
  private dropOffloadMode(): void {
    const mine = this.offloadMode;
    if (mine === undefined) return;
    for (const h of [...mine.handles.values()].reverse()) h.remove();
    this.offloadMode = undefined;
  }

  /** Runs `apply`; if it throws, removes what it had applied (newest first) so the pipeline is as before. */
  private applyAll(handles: Map<string, StrategyHandle>, apply: () => void): void {
    try {
      apply();
    } catch (error) {
      for (const h of [...handles.values()].reverse()) h.remove();
      throw error;
    }
  }

  private checkExcludeModules(value: unknown): Set<string> {
    if (value === undefined) return new Set();
    const names = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new InvalidArgumentError(`enableGroupOffload: \`excludeModules\` must be a component name or a list of them, got ${describeValue(value)}.`);
    }
    for (const n of names as string[]) {
      // Porting note: diffusers only logs unknown names; a typo here would silently offload a component.
      if (!(n in this.all)) {
        throw new InvalidArgumentError(`enableGroupOffload: \`excludeModules\` names "${n}", which is no component of this pipeline. Components: ${this.componentNames.join(', ')}.`);
      }
    }
    return new Set(names as string[]);
  }
}
