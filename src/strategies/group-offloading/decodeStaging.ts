import * as tf from '@tensorflow/tfjs-core';
import { backendHoldsBuffer } from '../../runtime/uploadNow.js';
import type { Parameter } from '../../models/Parameter.js';
import { emit } from '../../runtime/events.js';
import { memory } from '../../runtime/memory.js';
import type { DecodeItem, DequantizeItem } from '../../runtime/transfer/TransferWorker.js';
import type { ModuleGroup } from './ModuleGroup.js';

/**
 * Prefetching layerwise-cast weights: the transfer worker decodes a group's low-precision codes into float32
 * regions of the group's staging slot while the previous group computes, and the onload attaches those
 * values to the parameters (Parameter.attachDecoded), so the casting hook has nothing left to decode on the
 * main thread. The decoded tensors stay attached until the group is offloaded (Parameter.toHost / toDisk
 * detach them): they are released exactly once, by the offload, whatever ends the group's stay.
 *
 * Weights holding shipped codes on the host (wrapGraphModel's hostWeights: 'shipped') travel the same way: the
 * worker dequantizes their codes into the slot, and the onload uploads those float32 values as the weights'
 * device tensors (Parameter.shippedToDevice), keeping the codes as their host copy.
 */

/**
 * Where one weight's codes are and where its float32 values go, as byte offsets into a staging slot: a cast
 * weight's low-precision codes, or (`shipped`) a float32 weight's shipped codes.
 */
export interface DecodeTarget {
  readonly param: Parameter;
  readonly codesAt: number;
  readonly outAt: number;
  readonly shipped?: boolean;
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

/**
 * Host tier: the codes packed first (each region 16-aligned), then the float32 regions: cast weights' codes,
 * and the shipped codes the weights hold now (a weight assigned later has none and is uploaded as usual).
 */
export function hostDecodeLayout(params: readonly Parameter[]): { targets: DecodeTarget[]; end: number } {
  const codes = new Map<Parameter, number>();
  let at = 0;
  for (const p of params) {
    const bytes = p.isLowPrecision ? p.byteLength : p.shippedCodes()?.byteLength;
    if (bytes === undefined) continue;
    codes.set(p, at);
    at += align16(bytes);
  }
  const cast = decodeLayout(params, (p) => codes.get(p)!, at);
  const targets = [...cast.targets];
  let end = cast.end;
  for (const p of params) {
    if (p.isLowPrecision || !codes.has(p)) continue;
    targets.push({ param: p, codesAt: codes.get(p)!, outAt: end, shipped: true });
    end += align16(p.size * 4);
  }
  return { targets, end };
}

/** The cast weights' items (the shipped ones are dequantizeItems'). */
export function decodeItems(targets: readonly DecodeTarget[]): DecodeItem[] {
  return targets.filter((t) => t.shipped !== true).map((t) => [t.param.storageDtype, t.codesAt, t.param.size, t.outAt]);
}

/** The shipped targets whose weights hold their codes on the host now, and their items for the worker. */
export function dequantizeItems(targets: readonly DecodeTarget[]): { staged: DecodeTarget[]; items: DequantizeItem[] } {
  const staged: DecodeTarget[] = [];
  const items: DequantizeItem[] = [];
  for (const t of targets) {
    const codes = t.shipped === true && t.param.tier === 'host' ? t.param.shippedCodes() : undefined;
    if (codes === undefined) continue;
    staged.push(t);
    items.push([codes.dtype, t.codesAt, codes.length, t.outAt, codes.min, codes.scale]);
  }
  return { staged, items };
}

/** Copies each staged shipped target's codes into its region of `buffer`. */
export function copyShippedCodes(buffer: ArrayBufferLike, staged: readonly DecodeTarget[]): void {
  for (const t of staged) {
    const { codes } = t.param.shippedCodes()!;
    new Uint8Array(buffer, t.codesAt, codes.byteLength).set(new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength));
  }
}

/**
 * Uploads each staged shipped target's float32 values (in `buffer`, written by the worker) as its weight's device
 * tensor, the codes kept as its host copy. Returns whether the backend adopted `buffer` itself (cpu does): the
 * slot must then be held until the group is offloaded.
 */
export function uploadShippedFrom(buffer: ArrayBufferLike, staged: readonly DecodeTarget[]): boolean {
  let adopted = false;
  for (const t of staged) {
    t.param.shippedToDevice(new Float32Array(buffer, t.outAt, t.param.size));
    adopted ||= adopts(t.param.storedTensor()!, buffer);
  }
  return adopted;
}

/** The float32 bytes the decoded values of cast weights add on the device (shipped weights' are their own bytes). */
export function decodedBytes(targets: readonly DecodeTarget[]): number {
  return targets.reduce((n, t) => n + (t.shipped === true ? 0 : t.param.size * 4), 0);
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
export function attachDecodedFrom(group: ModuleGroup, buffer: ArrayBufferLike, targets: readonly DecodeTarget[], waitedMs: number): boolean {
  const start = performance.now();
  let adopted = false;
  const cast = targets.filter((t) => t.shipped !== true);
  for (const t of cast) {
    const tensor = tf.tensor(new Float32Array(buffer, t.outAt, t.param.size), t.param.shape as number[], 'float32');
    t.param.attachDecoded(tensor);
    adopted ||= adopts(tensor, buffer);
  }
  if (cast.length > 0) {
    emit('cast', {
      path: group.id,
      bytes: decodedBytes(cast),
      ms: performance.now() - start,
      storageDtype: cast[0]!.param.storageDtype,
      site: 'worker',
      waitedMs,
    });
  }
  return adopted;
}

/**
 * Whether the backend still reads `buffer` for the tensor: cpu adopts typed arrays, tfjs-node reads them at first
 * use; webgl and webgpu are made to upload now (else they too would read the slot at first use, after the slot
 * was given to another transfer).
 */
export function adopts(t: tf.Tensor, buffer: ArrayBufferLike): boolean {
  return backendHoldsBuffer(t, buffer);
}
