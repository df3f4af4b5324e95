import * as tf from '@tensorflow/tfjs-core';
import { ParameterDisposedError, ParameterNotResidentError } from '../base/errors.js';
import { brand } from '../base/brand.js';
import { type ComputeDtype, type HostArray, type StorageDtype, type Tier } from './dtypes.js';
import { describeParameter } from './paths.js';
import { decodePacked, isLowPrecisionDtype, type LowPrecisionDtype, type PackedCodes } from '../dtypes/index.js';
import * as check from './parameter/checks.js';
import { assignedCodes, encodedStorage, storedByteLength, storedCodes } from './parameter/codes.js';
import { initialState, type HostValue, type ParameterOptions } from './parameter/initial.js';
import { hostBytesHeld, NO_STORAGE, onDevice, onDisk, onHost, type DiskRef, type DiskSpan, type Storage } from './parameter/kinds.js';
import { assignedValues, readBack } from './parameter/moves.js';
import { ShippedCodes, valuesOf } from './parameter/shipped.js';
import { transition } from './parameter/transition.js';
import { int32IsExact } from '../runtime/int32Math.js';
import { asVariable, upload, type VariableIdentity } from './parameter/variable.js';
import { uploadFromDisk } from './parameter/pieces.js';

export type { DiskRef, DiskSpan, HostValue, ParameterOptions };

/**
 * One weight of a module. It owns its bytes on exactly one tier and knows how to move them exactly:
 * device ⇄ host copies are bitwise, and every move disposes what it leaves behind.
 *
 * A Parameter created from a tf.Variable stays a tf.Variable on the device (same name, same trainability),
 * so optimizers and tfjs-layers keep seeing a registered variable.
 *
 * A facade over storage kinds (./parameter/kinds.ts): every change of storage is one call of move(), that
 * is of transition(), which frees what is left behind and settles the ledger from the kinds before and after.
 */
export class Parameter {
  readonly shape: readonly number[];
  readonly dtype: ComputeDtype;
  readonly size: number;
  /** Storage dtype of the bytes held; equal to `dtype` until a casting strategy stores it lower. */
  storageDtype: StorageDtype;
  label: string | undefined;
  private storage: Storage = NO_STORAGE;
  private readonly variable: VariableIdentity | undefined;
  /** While stored in low precision: the float32 tensor read() returns, attached for one forward (layerwise casting). */
  private decoded: tf.Tensor | undefined;

  /**
   * Takes ownership of `value`: a tf.Tensor starts on the device, `{ data, shape }` starts on the host
   * (the array is adopted, not copied). The Parameter disposes what it owns when it moves or is disposed.
   */
  constructor(value: tf.Tensor | HostValue, options: ParameterOptions = {}) {
    this.label = options.label;
    const initial = initialState(value, options);
    this.shape = initial.shape;
    this.dtype = initial.dtype;
    this.variable = initial.identity;
    this.size = this.shape.reduce((a, b) => a * b, 1);
    this.storageDtype = this.dtype;
    this.move(initial.storage);
  }

  /** A parameter whose bytes start on the host, from a copy of `data`. */
  static fromHost(data: HostArray, shape: readonly number[], options: ParameterOptions = {}): Parameter {
    return new Parameter({ data: data.slice(), shape }, options);
  }

  get tier(): Tier {
    if (this.storage.kind === 'disposed') throw this.disposedError();
    return this.storage.kind;
  }

  get isDisposed(): boolean {
    return this.storage.kind === 'disposed';
  }

  get isResident(): boolean {
    return this.storage.kind === 'device';
  }

  /** Bytes of the stored representation (in `storageDtype`). */
  get byteLength(): number {
    return storedByteLength(this.storageDtype, this.size);
  }

  /**
   * Bytes it holds on its tier: byteLength, except on the host while it holds shipped codes
   * (wrapGraphModel's hostWeights: 'shipped'), a quarter or a half of the float32 bytes. Module.memoryFootprint
   * sums these.
   */
  get tierByteLength(): number {
    return this.storage.kind === 'host' ? hostBytesHeld(this.storage) : this.byteLength;
  }

  /**
   * Whether optimizers may update it: the live tf.Variable's flag while on the device (tfjs code may set it
   * there directly), the remembered one elsewhere. Always false for a Parameter that is not a Variable.
   */
  get trainable(): boolean {
    return this.variable?.trainableNow(this.peek()) ?? false;
  }

  /** Sets the flag on the live Variable and remembers it for the next upload. */
  set trainable(value: boolean) {
    if (this.variable === undefined) throw check.notAVariable(this);
    this.variable.setTrainable(value, this.peek());
  }

  /** The device tensor. Throws ParameterNotResidentError, naming this parameter, when it is not on the device. */
  read(): tf.Tensor {
    if (this.isLowPrecision) {
      if (this.storage.kind === 'disposed') throw this.disposedError();
      if (this.decoded !== undefined && !this.decoded.isDisposed) return this.decoded;
      throw check.noDecodedValues(this);
    }
    const tensor = this.residentTensor();
    if (tensor.isDisposed) throw new ParameterDisposedError(describeParameter(this), 'its tensor was disposed outside memhooks');
    return tensor;
  }

  /**
   * The device tensor that holds the stored bytes (a cast weight's packed int32 codes, not its decoded values),
   * or undefined when the bytes are elsewhere. For code that moves or tracks storage, not for computing.
   */
  storedTensor(): tf.Tensor | undefined {
    return this.storage.kind === 'device' ? this.storage.tensor : undefined;
  }

  /** The device tensor, or undefined when the bytes are elsewhere. Never throws. */
  peek(): tf.Tensor | undefined {
    return this.isLowPrecision ? this.decoded : this.storedTensor();
  }

  /**
   * The host copy (read-only by contract). Throws when the bytes are not on the host. A weight holding shipped
   * codes gives their decoded float32 values, in a fresh array (its host bytes stay the codes).
   */
  hostData(): HostArray {
    if (this.storage.kind === 'host') return valuesOf(this.storage.data);
    throw check.notOnHost(this, this.storage.kind);
  }

  /**
   * @internal The shipped codes the host holds for this weight (wrapGraphModel's hostWeights: 'shipped'): its
   * host bytes, or the copy kept while it is on the device; undefined when it holds none (or they no longer
   * describe it).
   */
  shippedCodes(): ShippedCodes | undefined {
    const s = this.storage;
    const data = s.kind === 'host' ? s.data : s.kind === 'device' && s.kept?.of === s.tensor.dataId ? s.kept.data : undefined;
    return data instanceof ShippedCodes ? data : undefined;
  }

  /** True while on the device with a host copy kept (toDevice({ keepHostCopy: true })). */
  get hasHostCopy(): boolean {
    return this.storage.kind === 'device' && this.storage.kept !== undefined;
  }

  /**
   * Moves the bytes from the device to host memory: an exact copy; the device tensor is disposed. When a
   * host copy was kept at onload, nothing is read back: the device tensor is just disposed.
   */
  toHost(): this {
    const s = this.storage;
    if (s.kind === 'host') return this;
    if (s.kind === 'disk') return this.move(onHost(s.ref.read()));
    if (s.kind === 'disposed') throw this.disposedError();
    // Cast weights move their packed words and never touch the decoded tensor's values, which are dropped.
    if (this.isLowPrecision) this.detachDecoded();
    else this.read();
    return this.move(readBack(s));
  }

  /**
   * Moves the bytes from the host to the device: an exact upload. The host copy is released, unless
   * `keepHostCopy` keeps it (still counted in hostBytes) so that the next toHost() is a dispose, not a
   * readback: offloading immutable weights then costs nothing. On the cpu backend the device tensor and
   * the kept copy share one array (tfjs does not copy typed arrays there). Shipped codes (wrapGraphModel's
   * hostWeights: 'shipped') are decoded here and always kept: they are the weight's host form until its values
   * change (assign), so offloading it again is a dispose and the host stays small. From the "disk" tier, without
   * keepHostCopy, a float32/int32 weight is read a piece at a time where the backend allows (parameter/pieces.ts):
   * host memory never holds the whole weight.
   */
  toDevice(options: { keepHostCopy?: boolean } = {}): this {
    const s = this.storage;
    if (s.kind === 'device') return this;
    if (s.kind === 'disposed') throw this.disposedError();
    if (s.kind === 'disk') {
      // Straight from the file in pieces where it can be (pieces.ts): host memory never holds the whole weight.
      const uploaded = options.keepHostCopy === true || this.isLowPrecision ? undefined : uploadFromDisk(s.ref, this);
      if (uploaded !== undefined) return this.move(onDevice(asVariable(uploaded, this.variable)));
      return this.move(onHost(s.ref.read())).toDevice(options);
    }
    // Shipped codes are decoded here (on the main thread) exactly as tfjs decodes them; they always stay kept.
    // Cast words on a backend that rounds int32 (webgl, webgpu) stay kept too: the device copy is not exact.
    const kept = options.keepHostCopy === true || s.data instanceof ShippedCodes || this.wordsNeedHost() ? s.data : undefined;
    return this.move(onDevice(upload(valuesOf(s.data), this, this.variable), kept));
  }

  /**
   * @internal From shipped codes on the host to the device with their float32 values already decoded (by the
   * transfer worker, into staging memory): an exact upload, the codes kept as the host copy (as toDevice keeps them).
   * On the cpu backend the tensor adopts `values` without copying, so the caller must not reuse that memory
   * until the parameter leaves the device.
   */
  shippedToDevice(values: Float32Array): this {
    const s = this.storage;
    if (s.kind !== 'host' || !(s.data instanceof ShippedCodes)) throw check.noShippedCodes(this, s.kind);
    check.assertValuesFit(this, values);
    return this.move(onDevice(upload(values, this, this.variable), s.data));
  }

  /** Replaces the values (as tfjs' setWeights does), on whichever tier they are. Shapes and dtypes must match. */
  assign(value: tf.Tensor): this {
    check.assertAssignable(this, value);
    const s = this.storage;
    if (s.kind === 'disposed') throw this.disposedError();
    if (this.isLowPrecision) return this.move(assignedCodes(s, this.storageDtype as LowPrecisionDtype, value));
    return this.move(assignedValues(s, value));
  }

  /**
   * Gives up ownership without freeing anything: returns the device tensor (undefined if the bytes were
   * elsewhere, which are then dropped) and leaves this Parameter disposed. unwrapLayersModel uses it so that
   * the old tree can no longer dispose the model's own variables.
   */
  release(): tf.Tensor | undefined {
    this.detachDecoded();
    const tensor = this.storedTensor();
    this.move(NO_STORAGE, true);
    return tensor;
  }

  /** Releases the bytes on whatever tier they are. Idempotent. */
  dispose(): void {
    this.detachDecoded();
    this.move(NO_STORAGE);
  }

  /**
   * Releases the host copy kept by toDevice({ keepHostCopy: true }), leaving the device tensor alone: the
   * state toDevice() would have produced. A no-op when no copy is kept. Group offloading's remove() uses it.
   * Shipped codes (wrapGraphModel's hostWeights: 'shipped') stay: they are the weight's host form from wrapping
   * on, not a copy made for offloading, so a strategy removed leaves the weight as wrapping made it.
   */
  dropHostCopy(): this {
    const s = this.storage;
    if (s.kind !== 'device' || s.kept === undefined || this.shippedCodes() !== undefined || this.wordsNeedHost()) return this;
    return this.move(onDevice(s.tensor));
  }

  // ---- Disk tier (group offloading's offloadToDiskPath, docs/group-offloading.md) ----

  /** Where the bytes are on disk while on the "disk" tier; undefined on the other tiers. */
  get diskRef(): DiskRef | undefined {
    return this.storage.kind === 'disk' ? this.storage.ref : undefined;
  }

  /**
   * Leaves the bytes only on disk: the caller has written them to `ref`'s file. Device tensors and host
   * arrays (a kept copy too) are released. From the "disk" tier it only changes the reference.
   */
  toDisk(ref: DiskRef): this {
    const s = this.storage;
    if (s.kind === 'disposed') throw this.disposedError();
    if (s.kind === 'device' && this.isLowPrecision) this.detachDecoded();
    return this.move(onDisk(ref));
  }

  /**
   * From the "disk" tier to the device with bytes already read (by the transfer worker, into staging memory):
   * an exact upload, no host copy kept. On the cpu backend the tensor adopts `data` without copying, so the
   * caller must not reuse that memory until the parameter leaves the device.
   */
  diskToDevice(data: HostArray): this {
    if (this.storage.kind !== 'disk') throw check.notOnDisk(this, this.tier);
    return this.move(onDevice(upload(data, this, this.variable)));
  }

  toString(): string {
    return `Parameter(${describeParameter(this)}, ${this.dtype}[${this.shape.join(', ')}], ${this.storage.kind})`;
  }

  // ---- Low-precision storage (layerwise casting, docs/layerwise-casting.md, src/models/parameter/codes.ts) ----
  // There is no float32 value until a decoded tensor is attached (the casting hook does, for one forward).

  /** True while the bytes are low-precision codes (storageDtype float16, bfloat16, float8_e4m3fn or float8_e5m2). */
  get isLowPrecision(): boolean {
    return isLowPrecisionDtype(this.storageDtype);
  }

  /** True while a decoded float32 tensor is attached (inside the forward of a cast module). */
  get hasDecoded(): boolean {
    return this.decoded !== undefined;
  }

  /**
   * Re-stores the float32 values as `dtype` codes, rounded exactly as PyTorch casts (src/dtypes), on the tier
   * they are on; the float32 bytes (and a kept host copy) are released. Lossy: restoreFloat32Storage() gets
   * the rounded values back, not the original ones.
   */
  castStorage(dtype: LowPrecisionDtype): this {
    check.assertCastable(this, dtype);
    const s = this.storage;
    if (s.kind === 'disposed') throw check.notCastableThere(this, s.kind);
    if (s.kind === 'device') this.read(); // refuses a tensor disposed outside memhooks
    this.move(encodedStorage(s, dtype));
    this.storageDtype = dtype;
    return this;
  }

  /**
   * Back to float32 storage on the same tier, holding the decoded values (what the casting rounded to). A
   * parameter created from a tf.Variable becomes that Variable again (same name and trainability).
   */
  restoreFloat32Storage(): this {
    if (!this.isLowPrecision) return this;
    this.detachDecoded();
    // Codes on disk come to the host first: the file holds codes, and float32 storage must not point at it.
    if (this.storage.kind === 'disk') this.toHost();
    const onDeviceBefore = this.isResident;
    const values = decodePacked(this.packedCodes());
    this.storageDtype = this.dtype;
    // The codes leave the device before the values are uploaded, so the two never share it.
    this.move(onHost(values));
    return onDeviceBefore ? this.toDevice() : this;
  }

  /**
   * The stored codes: the host words, the kept host copy, or the device tensor's data (on the cpu backend
   * its very array, on others a copy). Read-only by contract.
   */
  packedCodes(): PackedCodes {
    const codes = storedCodes(this.storage, check.lowPrecisionOf(this), this.size);
    if (codes === undefined) throw this.disposedError();
    return codes;
  }

  /** The int32 device tensor of packed codes (for decoding on the device); throws when not on the device. */
  packedTensor(): tf.Tensor {
    check.lowPrecisionOf(this);
    return this.residentTensor();
  }

  /** Gives a low-precision parameter the float32 tensor read() returns until detachDecoded(); takes ownership. */
  attachDecoded(tensor: tf.Tensor): void {
    check.assertDecodedFits(this, tensor);
    if (this.decoded !== tensor) this.detachDecoded();
    this.decoded = tf.keep(tensor);
  }

  /** Disposes the attached decoded tensor, if any. */
  detachDecoded(): void {
    const decoded = this.decoded;
    this.decoded = undefined;
    decoded?.dispose();
  }

  /** Low-precision words on a backend whose int32 tensors are rounded (webgl, webgpu): the host copy is the truth. */
  private wordsNeedHost(): boolean {
    return this.isLowPrecision && !int32IsExact();
  }

  /** Every change of storage: through the transition, which frees what is left and settles the ledger. */
  private move(next: Storage, handOver = false): this {
    const s = this.storage;
    // A Variable leaving the device (or replaced) takes its trainable flag with it: remember it for the next upload.
    if (s.kind === 'device') this.variable?.remember(s.tensor);
    this.storage = transition(s, next, handOver);
    return this;
  }

  /** The stored device tensor; throws, naming this parameter and where its bytes are, when there is none. */
  private residentTensor(): tf.Tensor {
    const s = this.storage;
    if (s.kind === 'device') return s.tensor;
    if (s.kind === 'disposed') throw this.disposedError();
    throw new ParameterNotResidentError(describeParameter(this), s.kind);
  }

  private disposedError(): ParameterDisposedError {
    return new ParameterDisposedError(describeParameter(this));
  }
}

brand(Parameter, 'Parameter');
