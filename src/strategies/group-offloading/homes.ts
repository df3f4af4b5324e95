import type { DiskRef, Parameter } from '../../models/Parameter.js';

/**
 * Weights that start on the disk tier (a model generated with withParameterInit({ tier: 'disk' }), or
 * loaded to 'disk' by a device map) keep their file as their home under group offloading: the host tier
 * reads them from it at onload and returns them to it at offload (no host copy is kept, so host memory
 * holds none of them between uses), and remove() puts them back on it, never onto the device. A weight
 * assigned while on the device no longer matches its file: it keeps its new values on the host from then
 * on, as Parameter.assign does for a weight on disk.
 */
export class DiskHomes {
  private readonly refs = new Map<Parameter, DiskRef>();
  /** The dataId of each home weight's upload, to notice one assigned while on the device. */
  private readonly uploads = new Map<Parameter, object>();

  constructor(params: readonly Parameter[]) {
    for (const p of params) if (p.diskRef !== undefined) this.refs.set(p, p.diskRef);
  }

  has(p: Parameter): boolean {
    return this.refs.has(p);
  }

  /** Uploads `p` from its file with no host copy kept; false (nothing done) when `p` has no home. */
  onload(p: Parameter): boolean {
    if (!this.refs.has(p)) return false;
    p.toDevice();
    this.uploads.set(p, p.peek()!.dataId);
    return true;
  }

  /** Sends `p` back to its file (a dispose of the device copy); false (nothing done) when `p` has no home. */
  offload(p: Parameter): boolean {
    const ref = this.refs.get(p);
    if (ref === undefined) return false;
    const uploaded = this.uploads.get(p);
    this.uploads.delete(p);
    if (p.isResident && p.peek()!.dataId !== uploaded) {
      this.refs.delete(p);
      p.toHost();
    } else {
      p.toDisk(ref);
    }
    return true;
  }

  /** At remove(): `p` back on its own file, whatever tier or offload file it is on now. */
  sendHome(p: Parameter): void {
    const ref = this.refs.get(p);
    if (ref !== undefined && !p.isDisposed) p.toDisk(ref);
    this.uploads.delete(p);
  }
}
