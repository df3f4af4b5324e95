import { ERROR_CODES, MemhooksError } from '../base/errors.js';
import { torchLayoutOf, type TorchLayout } from '../models/layers/layouts.js';
import { Linear, memhooksFileLayoutOf } from '../models/layers/Linear.js';
import type { Module } from '../models/Module.js';
import { type Parameter } from '../models/Parameter.js';
import type { LazyEntry } from '../io/safetensors/write.js';

/** One weight of a model tree: its checkpoint name, the module field that holds it, and its layout. */
export interface OwnedParameter {
  name: string;
  owner: Module;
  key: string;
  param: Parameter;
  /**
   * How the file lays it out differently: PyTorch's layout, or with `torchLayouts: false` memhooks' own
   * (Linear [in, out] on every backend, convs HWIO); undefined when identical.
   */
  layout: TorchLayout | undefined;
}

/**
 * Every parameter once, named as namedParameters() names it (a tied weight under its first path), with
 * the module and field that hold it, so that a loader can swap in the loaded Parameter.
 */
export function ownedParameters(root: Module, options: { torchLayouts?: boolean } = {}): OwnedParameter[] {
  const { torchLayouts = true } = options;
  const out: OwnedParameter[] = [];
  const seen = new Set<Parameter>();
  for (const [path, owner] of root.namedModules()) {
    for (const [key, param] of owner.namedParameters({ recurse: false })) {
      if (seen.has(param)) continue;
      seen.add(param);
      const layout = param.dtype !== 'float32' ? undefined : torchLayouts ? torchLayoutOf(owner, key) : memhooksLayoutOf(owner, key);
      out.push({ name: path === '' ? key : `${path}.${key}`, owner, key, param, layout });
    }
  }
  return out;
}

/** memhooks' file layout is the device layout, except a Linear kept as [out, in] (cpu) is written [in, out]. */
function memhooksLayoutOf(owner: Module, key: string): TorchLayout | undefined {
  return owner instanceof Linear && key === 'weight' ? memhooksFileLayoutOf(owner) : undefined;
}

/**
 * The weight as a lazily read safetensors entry in PyTorch's layout: read from whichever tier holds it
 * (device or host) only when the writer reaches it, converted with the layout on host bytes.
 */
export function entryForSave(p: OwnedParameter): LazyEntry {
  const { param, layout } = p;
  if (param.storageDtype !== param.dtype || (param.tier !== 'device' && param.tier !== 'host')) {
    throw new MemhooksError(
      ERROR_CODES.PARAMETER_NOT_RESIDENT,
      `Parameter ${p.name} is stored as ${param.storageDtype} on the "${param.tier}" tier; savePretrained saves float32/int32 weights from the device or the host. ` +
        `Remove the strategy that moved or cast it (handle.remove()) before saving.`,
    );
  }
  const dtype = param.dtype === 'float32' ? 'F32' : 'I32';
  const shape = layout === undefined ? [...param.shape] : torchShape(p);
  return {
    dtype,
    shape,
    read() {
      let values = param.isResident ? (param.read().dataSync() as Float32Array | Int32Array) : param.hostData();
      if (layout !== undefined) values = layout.toTorch({ data: values as Float32Array, shape: [...param.shape] }).data;
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    },
  };
}

/**
 * The parameter's shape in PyTorch's layout. TorchLayout converts values, not shapes, so the shape comes
 * from converting a zero placeholder of the parameter's size (transient; the layouts are permutations).
 */
export function torchShape(p: OwnedParameter): number[] {
  return p.layout!.toTorch({ data: new Float32Array(p.param.size), shape: [...p.param.shape] }).shape;
}
