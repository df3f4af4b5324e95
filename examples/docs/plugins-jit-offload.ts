// A plugin that moves weights: the modules named in `modules` keep their weights on the host and onload them
// just for their own forward. It covers only those modules, so it sits beside strategies on the rest of the tree.
import { HookRegistry, InvalidArgumentError, ModelHook, strategy, type Module, type Parameter } from 'memhooks';
import { assertDeviceBudget, describeModule, emitEvent, Strategy, type Undo } from 'memhooks/plugin';

export interface JitOffloadOptions {
  /** Paths of the modules to offload, relative to the module the strategy is applied to. */
  modules: string[];
}

declare module 'memhooks' {
  interface StrategyOptionsMap {
    'jit-offload': JitOffloadOptions;
  }
}

class JitOffloadHook extends ModelHook {
  constructor(private readonly params: Parameter[]) {
    super();
  }

  override initializeHook(): void {
    for (const p of this.params) p.toHost();
  }

  override deinitializeHook(module: Module): void {
    const bytes = this.params.reduce((n, p) => n + (p.tier === 'device' ? 0 : p.byteLength), 0);
    assertDeviceBudget(bytes, `the weights of ${describeModule(module)} (removing jit-offload)`, 'Free device memory first.');
    for (const p of this.params) p.toDevice();
  }

  override preForward(module: Module, args: unknown[]): unknown[] {
    const bytes = this.params.reduce((n, p) => n + p.byteLength, 0);
    // Throws before anything is allocated when the onload would pass memory.setDeviceBudget's budget.
    assertDeviceBudget(bytes, `the weights of ${describeModule(module)}`, 'Offload fewer modules at once, or split this one.');
    const start = performance.now();
    for (const p of this.params) p.toDevice({ keepHostCopy: true });
    // emitEvent, not events.emit: a listener that throws is reported and never aborts the forward.
    emitEvent('onload', { path: describeModule(module), bytes, ms: performance.now() - start });
    return args;
  }

  override postForward(module: Module, output: unknown): unknown {
    this.offload(module);
    return output;
  }

  override onForwardError(module: Module): void {
    this.offload(module);
  }

  private offload(module: Module): void {
    const start = performance.now();
    for (const p of this.params) p.toHost();
    emitEvent('offload', { path: describeModule(module), bytes: this.params.reduce((n, p) => n + p.byteLength, 0), ms: performance.now() - start });
  }
}

@strategy('jit-offload')
export class JitOffload extends Strategy<JitOffloadOptions> {
  // Two strategies must not move the same weights.
  override readonly conflictsWith = ['group_offloading', 'sequential_offload', 'model_cpu_offload', 'device_map'];

  override validate(root: Module, options: JitOffloadOptions): void {
    if (!Array.isArray(options?.modules) || options.modules.length === 0) {
      throw new InvalidArgumentError(`jit-offload needs \`modules\`, a non-empty array of module paths under ${describeModule(root)}.`);
    }
    for (const path of options.modules) root.getSubmodule(path); // throws naming a path that does not exist
  }

  // What conflicts are judged by: the named modules and their subtrees, not the whole tree under `root`.
  override covers(root: Module, options: JitOffloadOptions): Module[] {
    return options.modules.flatMap((path) => root.getSubmodule(path).modules());
  }

  override apply(root: Module, options: JitOffloadOptions): Undo {
    const handles = options.modules.map((path) => {
      const module = root.getSubmodule(path);
      return HookRegistry.checkIfExistsOrInitialize(module).registerHook(new JitOffloadHook(module.parameters()), 'jit-offload');
    });
    return { remove: () => handles.reverse().forEach((h) => h.remove()) };
  }
}
