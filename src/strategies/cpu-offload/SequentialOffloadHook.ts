import { ForwardScopedHook } from '../../hooks/ForwardScopedHook.js';
import type { Module } from '../../models/Module.js';
import type { Parameter } from '../../models/Parameter.js';
import { describeModule } from '../../models/paths.js';
import type { ModuleFiles } from './ModuleFiles.js';
import type { ParameterLeases } from '../shared/ParameterLeases.js';

/**
 * On every module that owns weights directly (accelerate's AlignDevicesHook with offload=True): uploads the
 * module's own weights in preForward and drops them in postForward, or in onForwardError when the forward
 * throws, so between forwards they are on the host. A parent's own weights stay on the device while its
 * children run, since the children run inside the parent's forward.
 */
export class SequentialOffloadHook extends ForwardScopedHook {
  /**
   * `params` go through the shared leases (host tier); `disk`, when given, holds the module's weights that
   * live in its own file (never shared with another module, so this hook alone moves them).
   */
  constructor(
    private readonly leases: ParameterLeases,
    private readonly params: readonly Parameter[],
    private readonly disk?: { files: ModuleFiles; entry: NonNullable<ReturnType<ModuleFiles['entryOf']>> },
  ) {
    super();
  }

  protected override begin(module: Module): void {
    this.leases.acquire(this.params, describeModule(module));
    if (this.disk !== undefined && this.active === 0) {
      try {
        this.disk.files.onload(this.disk.entry, `the weights of module ${describeModule(module)}`);
      } catch (error) {
        // The count is not raised when begin throws, so nothing else would release the leases just taken.
        this.leases.release(this.params, describeModule(module));
        throw error;
      }
    }
  }

  protected override finish(module: Module): void {
    this.leases.release(this.params, describeModule(module));
    if (this.disk !== undefined && this.active === 0) this.disk.files.offload(this.disk.entry);
  }

  /** The module is disposed with the strategy applied: its files are of no use any more. */
  override detachHook(): void {
    this.disk?.files.close();
  }
}
