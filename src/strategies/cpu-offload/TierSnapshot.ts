import type { HostArray } from '../../models/dtypes.js';
import { InvalidArgumentError } from '../../base/errors.js';
import type { Parameter } from '../../models/Parameter.js';
import { memory } from '../../runtime/memory.js';

/**
 * Where each weight of a tree was when an offload strategy was applied, so that remove() puts every weight
 * back on the tier it came from (the device, normally) with no extra copy left anywhere.
 */
export class TierSnapshot {
  private readonly tiers: ReadonlyMap<Parameter, 'device' | 'host'>;

  constructor(readonly params: readonly Parameter[]) {
    // These strategies hold every weight in host memory and put it on the device at remove(): for a model on
    // disk (larger than memory, usually) both would be wrong, so they refuse before changing anything.
    const onDisk = params.find((p) => !p.isDisposed && p.tier === 'disk');
    if (onDisk !== undefined) {
      throw new InvalidArgumentError(
        `Model offload and sequential offload keep weights in host memory, but ${onDisk.toString()} is on the disk tier ` +
          `(generated with withParameterInit({ tier: 'disk' }), or mapped to 'disk'). Use group offloading instead ` +
          `(applyGroupOffloading, or pipeline.enableGroupOffload()): it reads disk weights from their files when they are needed ` +
          `and puts them back there at remove(). Or build the model on the 'host' tier.`,
      );
    }
    this.tiers = new Map(params.map((p) => [p, p.tier as 'device' | 'host']));
  }

  /** Moves every weight to the host (a readback: no host copy exists yet). */
  offloadAll(): void {
    for (const p of this.params) p.toHost();
  }

  /** Checks the device budget for putting back what the device held at apply time; allocates nothing. */
  assertRestorable(what: string): void {
    const bytes = this.params.filter((p) => this.tiers.get(p) === 'device' && !p.isResident).reduce((n, p) => n + p.byteLength, 0);
    memory.assertDeviceBudget(bytes, what, 'Keep the offload applied, or free device memory first.');
  }

  /**
   * Every weight back on its original tier; host copies kept for offloading are released. `fromDisk` gives
   * the bytes of weights on the disk tier, read beforehand (so a failing read changes nothing).
   */
  restore(fromDisk?: ReadonlyMap<Parameter, HostArray>): void {
    for (const p of this.params) {
      if (p.isDisposed) continue;
      const bytes = p.tier === 'disk' ? fromDisk?.get(p) : undefined;
      if (bytes !== undefined) p.diskToDevice(bytes);
      if (this.tiers.get(p) === 'host') p.toHost();
      else if (p.isResident) p.dropHostCopy();
      else p.toDevice();
    }
  }
}
