import type * as tf from '@tensorflow/tfjs-core';
import type { HostArray } from '../dtypes.js';
import { ShippedCodes, type HostBytes } from './shipped.js';

/** Where a parameter's bytes are on disk and how to read them back (the storage form: packed words when cast). */
export interface DiskRef {
  /** The file, for messages. */
  readonly path: string;
  /** The stored bytes, read synchronously, in a fresh array the parameter may adopt. */
  read(): HostArray;
  /**
   * Where the stored bytes are the weight's float32/int32 values as they are (little-endian, no conversion): the
   * file opened for reading them a piece at a time, so that an upload never holds the whole weight in host memory
   * (pieces.ts). Absent, or undefined once the file is open, where the bytes need converting (a checkpoint in
   * another dtype or layout, cast codes).
   */
  openSpan?(): DiskSpan | undefined;
}

/** A weight's raw float32/int32 bytes in an open file (DiskRef.openSpan). */
export interface DiskSpan {
  readonly byteLength: number;
  /** Reads `target.byteLength` bytes of the values, from `byteOffset` within them, into `target`. */
  readAt(target: Uint8Array, byteOffset: number): void;
  close(): void;
}

/**
 * A host copy kept while the bytes are on the device (toDevice({ keepHostCopy })), so that offloading is a
 * dispose. It is valid while the device tensor still holds the buffer it was uploaded to (`of`): a Variable
 * assigned outside memhooks (an optimizer step, getWeights()[i].assign) gets a new buffer.
 */
export interface KeptCopy {
  /** The values, or the shipped codes they decode from (wrapGraphModel's hostWeights: 'shipped'). */
  readonly data: HostBytes;
  readonly of: object;
}

/** The bytes are a device tensor (packed int32 words when cast), maybe with a kept host copy. */
export interface DeviceStorage {
  readonly kind: 'device';
  readonly tensor: tf.Tensor;
  readonly kept?: KeptCopy;
}

/** The bytes are a host array the parameter owns alone: the values, or shipped codes that decode to them. */
export interface HostStorage {
  readonly kind: 'host';
  readonly data: HostBytes;
}

/** The bytes are only in a file (group offloading's offloadToDiskPath, disk init); `ref` reads them back. */
export interface DiskStorage {
  readonly kind: 'disk';
  readonly ref: DiskRef;
}

/** Nothing is held: disposed or released (also the state before construction, for the first transition). */
export interface NoStorage {
  readonly kind: 'disposed';
}

/**
 * What a Parameter's bytes are held in. The encoding (float32/int32 values or low-precision codes) is the
 * parameter's storageDtype and is the same on every kind: the kinds only say where the bytes are.
 */
export type Storage = DeviceStorage | HostStorage | DiskStorage | NoStorage;

export const NO_STORAGE: NoStorage = Object.freeze({ kind: 'disposed' });

export function onHost(data: HostBytes): HostStorage {
  return { kind: 'host', data };
}

export function onDisk(ref: DiskRef): DiskStorage {
  return { kind: 'disk', ref };
}

/** The device tensor, with `kept` as a host copy of the buffer it holds now (when given). */
export function onDevice(tensor: tf.Tensor, kept?: HostBytes): DeviceStorage {
  return kept === undefined ? { kind: 'device', tensor } : { kind: 'device', tensor, kept: { data: kept, of: tensor.dataId } };
}

/**
 * Host bytes a kind holds, which is what the ledger counts for it. Files are counted by whoever writes them
 * (one file holds many weights), and device bytes by the memory tracker, so only host arrays count here.
 */
export function hostBytesHeld(s: Storage): number {
  if (s.kind === 'host') return s.data.byteLength;
  if (s.kind === 'device') return s.kept?.data.byteLength ?? 0;
  return 0;
}

/** The kept copy while it still equals the device bytes; undefined when none is kept or it went stale. */
export function currentKeptCopy(s: DeviceStorage): HostBytes | undefined {
  return s.kept !== undefined && s.tensor.dataId === s.kept.of ? s.kept.data : undefined;
}

/** Whether the kind holds shipped codes on the host (as its bytes, or as the kept copy of the device tensor). */
export function holdsShippedCodes(s: Storage): boolean {
  if (s.kind === 'host') return s.data instanceof ShippedCodes;
  return s.kind === 'device' && s.kept?.data instanceof ShippedCodes;
}
