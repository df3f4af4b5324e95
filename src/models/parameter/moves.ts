import * as tf from '@tensorflow/tfjs-core';
import type { HostArray } from '../dtypes.js';
import { currentKeptCopy, onDevice, onHost, type DeviceStorage, type HostStorage, type Storage } from './kinds.js';
import { ShippedCodes } from './shipped.js';

// The storage that follows a move of float32/int32 values (and, for readBack, of packed codes too). Each
// function reads what it needs from the current storage and builds the next one; Parameter hands it to the
// transition, which frees what is left behind and settles the ledger.

/**
 * The device bytes as host storage: the kept copy when it is still current (offloading is then a dispose;
 * kept shipped codes stay codes, so the host stays small), else a read-back of the float32 values. dataSync on the cpu backend returns the backend's own array: it is copied so that the
 * host bytes are the parameter's alone.
 */
export function readBack(s: DeviceStorage): HostStorage {
  return onHost(currentKeptCopy(s) ?? (s.tensor.dataSync() as HostArray).slice());
}

/**
 * `value`'s values in place of the stored ones (as tfjs' setWeights does). New host arrays rather than writes
 * into the old ones: on the cpu backend an old array may still back a tensor someone else holds (a view of the
 * previous value), which must not change under them. A weight on disk gets its new values on the host (the
 * file keeps the old bytes); a kept host copy is replaced so that it stays equal to the device. Shipped codes
 * no longer describe the values: they are dropped (on the host the new float32 values take their place; a kept
 * copy of codes is not replaced, so a later offload reads the new values back).
 */
export function assignedValues(s: Exclude<Storage, { kind: 'disposed' }>, value: tf.Tensor): DeviceStorage | HostStorage {
  const fresh = (): HostArray => (value.dataSync() as HostArray).slice();
  if (s.kind !== 'device') return onHost(fresh());
  let tensor = s.tensor;
  if (tensor instanceof tf.Variable) {
    // Assigning a variable its own buffer would drop its last reference to it (tfjs frees it first).
    if (value.dataId !== tensor.dataId) tensor.assign(value);
  } else if (tensor !== value) {
    tensor = tf.keep(tf.clone(value));
  }
  return onDevice(tensor, s.kept === undefined || s.kept.data instanceof ShippedCodes ? undefined : fresh());
}
