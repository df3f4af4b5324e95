import * as tf from '@tensorflow/tfjs-core';
import type { Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';
import type { DecodeItem } from '../../runtime/transfer/TransferWorker.js';
import type { ModuleGroup } from './ModuleGroup.js';

/**
 * Prefetching layerwise-cast weights: the transfer worker decodes a group's low-precision codes into float32
 * regions of the group's staging slot while the previous group computes, and the onload attaches those
 * values to the parameters (Parameter.attachDecoded), so the casting hook has nothing left to decode on the
 * main thread. The decoded tensors stay attached until the group is offloaded (Parameter.toHost / toDisk
 * detach them): they are released exactly once, by the offload, whatever ends the group's stay.
 */

/** Where one cast weight's codes are and where its float32 values go, as byte offsets into a staging slot. */
export interface DecodeTarget {
  readonly param: Parameter;
  readonly codesAt: number;
  readonly outAt: number;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/**
 * float32 regions for the low-precision params among `params`, laid out from byte `base` (16-aligned).
 * `codesAt(p)` says where each one's codes are in the slot.
 */
export function decodeLayout(params: readonly Parameter[], codesAt: (p: Parameter) => number, base: number): { targets: DecodeTarget[]; end: number } {
  const targets: DecodeTarget[] = [];
  let end = align16(base);
  for (const p of params) {
    if (!p.isLowPrecision) continue;
    targets.push({ param: p, codesAt: codesAt(p), outAt: end });
    end += align16(p.size * 4);
  }
  return { targets, end };
}

/** Host tier: the codes packed first (each word-aligned region 16-aligned), then the float32 regions. */
export function hostDecodeLayout(params: readonly Parameter[]): { targets: DecodeTarget[]; end: number } {
  const codes = new Map<Parameter, number>();
  let at = 0;
  for (const p of params) {
    if (!p.isLowPrecision) continue;
    codes.set(p, at);
    at += align16(p.byteLength);
  }
  return decodeLayout(params, (p) => codes.get(p)!, at);
}

export function decodeItems(targets: readonly DecodeTarget[]): DecodeItem[] {
  return targets.map((t) => [t.param.storageDtype, t.codesAt, t.param.size, t.outAt]);
}

/** The float32 bytes the decoded values take on the device. */
export function decodedBytes(targets: readonly DecodeTarget[]): number {
  return targets.reduce((n, t) => n + t.param.size * 4, 0);
}

/**
 * Checks that the group's codes and its decoded float32 values fit the device budget together: while a
 * prefetched group is in use the device holds both (group.bytes counts the codes only).
 */
export function assertRoomForDecoded(group: ModuleGroup, targets: readonly DecodeTarget[], stage: string): void {
  memory.assertDeviceBudget(
    group.bytes + decodedBytes(targets),
    `group "${group.id}" (${stage}: its low-precision codes and their decoded float32 values)`,
    'Use smaller groups (offloadType leaf_level, a smaller numBlocksPerGroup), a smaller prefetchDepth, or turn useStream off (the casting hook then decodes one layer at a time).',
  );
}

/**
 * Makes each target's decoded values (in `buffer`, written by the worker) a float32 tensor and attaches it
 * to its parameter; emits a 'cast' event with `site: 'worker'`. Returns whether the backend adopted
 * `buffer` itself as a tensor's storage (cpu does, without copying): the slot must then be held until the
 * group is offloaded, not reused.
 */
export function attachDecodedFrom(group: ModuleGroup, buffer: SharedArrayBuffer, targets: readonly DecodeTarget[], waitedMs: number): boolean {
  const start = performance.now();
  let adopted = false;
  for (const t of targets) {
    const tensor = tf.tensor(new Float32Array(buffer, t.outAt, t.param.size), t.param.shape as number[], 'float32');
    t.param.attachDecoded(tensor);
    adopted ||= adopts(tensor, buffer);
  }
  if (targets.length > 0) {
    emit('cast', {
      path: group.id,
      bytes: decodedBytes(targets),
      ms: performance.now() - start,
      storageDtype: targets[0]!.param.storageDtype,
      site: 'worker',
      waitedMs,
    });
  }
  return adopted;
}

/** Whether the backend keeps `buffer` itself as the tensor's storage (cpu adopts typed arrays). */
export function adopts(t: tf.Tensor, buffer: SharedArrayBuffer): boolean {
  const data = (tf.backend() as unknown as { data?: { get(id: object): { values?: ArrayBufferView } | undefined } }).data;
  return data?.get(t.dataId)?.values?.buffer === buffer;
}
