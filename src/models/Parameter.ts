import * as tf from '@tensorflow/tfjs-core';
import {
  ERROR_CODES,
  InvalidArgumentError,
  MemhooksError,
  ParameterDisposedError,
  ParameterNotResidentError,
} from '../errors.js';
import { ledger } from '../runtime/ledger.js';
import { brand } from './brand.js';
import {
  assertComputeDtype,
  BYTES_PER_ELEMENT,
  type ComputeDtype,
  type HostArray,
  type StorageDtype,
  type Tier,
} from './dtypes.js';
import { describeParameter, describeValue } from './paths.js';
import { decodePacked, encodePacked, isLowPrecisionDtype, viewPacked, wordCount, type LowPrecisionDtype, type PackedCodes } from '../dtypes/index.js';

/** How the device copy is re-created: a tf.Variable keeps its name and trainability across tier moves. */
interface VariableSpec {
  name: string;
  trainable: boolean;
}

type Storage =
  // `host` is a copy kept while on the device (toDevice({ keepHostCopy })), so that offloading is a dispose.
  // It is valid while the device tensor still holds the buffer it was uploaded to (`hostOf`): a Variable
  // assigned outside memhooks (an optimizer step, getWeights()[i].assign) gets a new buffer.
  | { tier: 'device'; tensor: tf.Tensor; host?: HostArray; hostOf?: object }
  | { tier: 'host'; data: HostArray }
  // `disk`: the bytes are only in a file (group offloading's offloadToDiskPath); `ref` reads them back.
  | { tier: 'disk'; ref: DiskRef }
  | { tier: 'disposed' };

/** Where a parameter's bytes are on disk and how to read them back (the storage form: packed words when cast). */
export interface DiskRef {
  /** The file, for messages. */
  readonly path: string;
  /** The stored bytes, read synchronously, in a fresh array the parameter may adopt. */
  read(): HostArray;
}

/** Host bytes with their shape; the dtype follows the array type. */
export interface HostValue {
  data: HostArray;
  shape: readonly number[];
}

export interface ParameterOptions {
  /** Shown in errors until the parameter is discovered in a module tree (which names it by its path). */
  label?: string;
}

/**
 * One weight of a module. It owns its bytes on exactly one tier and knows how to move them exactly:
 * device ⇄ host copies are bitwise, and every move disposes what it leaves behind.
 *
 * A Parameter created from a tf.Variable stays a tf.Variable on the device (same name, same trainability),
 * so optimizers and tfjs-layers keep seeing a registered variable.
 */
export class Parameter {
  readonly shape: readonly number[];
  readonly dtype: ComputeDtype;
  readonly size: number;
  /** Storage dtype of the bytes held; equal to `dtype` until a casting strategy stores it lower. */
  storageDtype: StorageDtype;
  label: string | undefined;
  private storage: Storage;
  private readonly variable: VariableSpec | undefined;
  /** While stored in low precision: the float32 tensor read() returns, attached for one forward (layerwise casting). */
  private decoded: tf.Tensor | undefined;

  /**
   * Takes ownership of `value`: a tf.Tensor starts on the device, `{ data, shape }` starts on the host
   * (the array is adopted, not copied). The Parameter disposes what it owns when it moves or is disposed.
   */
  constructor(value: tf.Tensor | HostValue, options: ParameterOptions = {}) {
    this.label = options.label;
    if (value instanceof tf.Tensor) {
      if (value.isDisposed) throw new InvalidArgumentError(`new Parameter(value) was given a disposed tensor.`);
      assertComputeDtype(value.dtype, options.label ?? 'The tensor given to new Parameter()');
      this.shape = Object.freeze([...value.shape]);
      this.dtype = value.dtype;
      this.variable = value instanceof tf.Variable ? { name: value.name, trainable: value.trainable } : undefined;
      // Kept tensors survive every tf.tidy scope, so a Parameter created inside a forward outlives it.
      this.storage = { tier: 'device', tensor: tf.keep(value) };
    } else if (isHostValue(value)) {
      this.shape = Object.freeze([...value.shape]);
      this.dtype = value.data instanceof Int32Array ? 'int32' : 'float32';
      this.variable = undefined;
      const size = this.shape.reduce((a, b) => a * b, 1);
      if (value.data.length !== size) {
        throw new MemhooksError(
          ERROR_CODES.SHAPE_MISMATCH,
          `new Parameter({ data, shape }) got ${value.data.length} values for shape [${this.shape.join(', ')}] ` +
            `(${size} values). Pass matching data.`,
        );
      }
      this.storage = { tier: 'host', data: value.data };
      ledger.hostBytes += value.data.byteLength;
    } else {
      throw new InvalidArgumentError(
        `new Parameter(value) needs a tf.Tensor or { data: Float32Array | Int32Array, shape }, got ${describeValue(value)}.`,
      );
    }
    this.size = this.shape.reduce((a, b) => a * b, 1);
    this.storageDtype = this.dtype;
  }

  /** A parameter whose bytes start on the host, from a copy of `data`. */
  static fromHost(data: HostArray, shape: readonly number[], options: ParameterOptions = {}): Parameter {
    return new Parameter({ data: data.slice(), shape }, options);
  }

  get tier(): Tier {
    if (this.storage.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    return this.storage.tier;
  }

  get isDisposed(): boolean {
    return this.storage.tier === 'disposed';
  }

  get isResident(): boolean {
    return this.storage.tier === 'device';
  }

  /** Bytes of the stored representation (in `storageDtype`). */
  get byteLength(): number {
    // Low-precision codes are packed into whole int32 words: up to 3 bytes of padding per parameter.
    if (this.isLowPrecision) return wordCount(this.storageDtype as LowPrecisionDtype, this.size) * 4;
    return this.size * BYTES_PER_ELEMENT[this.storageDtype];
  }

  /**
   * Whether optimizers may update it: the live tf.Variable's flag while on the device (tfjs code may set it
   * there directly), the remembered one elsewhere. Always false for a Parameter that is not a Variable.
   */
  get trainable(): boolean {
    const live = this.peek();
    if (this.variable !== undefined && live instanceof tf.Variable) this.variable.trainable = live.trainable;
    return this.variable?.trainable ?? false;
  }

  /** Sets the flag on the live Variable and remembers it for the next upload. */
  set trainable(value: boolean) {
    if (this.variable === undefined) {
      throw new InvalidArgumentError(`Parameter ${describeParameter(this)} was not created from a tf.Variable, so it has no trainable flag.`);
    }
    this.variable.trainable = value;
    const live = this.peek();
    if (live instanceof tf.Variable) live.trainable = value;
  }

  /** The device tensor. Throws ParameterNotResidentError, naming this parameter, when it is not on the device. */
  read(): tf.Tensor {
    if (this.isLowPrecision) return this.readDecoded();
    const s = this.storage;
    if (s.tier === 'device') {
      if (s.tensor.isDisposed) throw new ParameterDisposedError(describeParameter(this), 'its tensor was disposed outside memhooks');
      return s.tensor;
    }
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    throw new ParameterNotResidentError(describeParameter(this), s.tier);
  }

  /**
   * The device tensor that holds the stored bytes (a cast weight's packed int32 codes, not its decoded values),
   * or undefined when the bytes are elsewhere. For code that moves or tracks storage, not for computing.
   */
  storedTensor(): tf.Tensor | undefined {
    return this.storage.tier === 'device' ? this.storage.tensor : undefined;
  }

  /** The device tensor, or undefined when the bytes are elsewhere. Never throws. */
  peek(): tf.Tensor | undefined {
    if (this.isLowPrecision) return this.decoded;
    return this.storage.tier === 'device' ? this.storage.tensor : undefined;
  }

  /** The host copy (read-only by contract). Throws when the bytes are not on the host. */
  hostData(): HostArray {
    const s = this.storage;
    if (s.tier === 'host') return s.data;
    throw new MemhooksError(
      ERROR_CODES.PARAMETER_NOT_RESIDENT,
      `Parameter ${describeParameter(this)} is on the "${this.storage.tier}" tier, not on the host. Call toHost() first.`,
    );
  }

  /** True while on the device with a host copy kept (toDevice({ keepHostCopy: true })). */
  get hasHostCopy(): boolean {
    return this.storage.tier === 'device' && this.storage.host !== undefined;
  }

  /**
   * Moves the bytes from the device to host memory: an exact copy; the device tensor is disposed. When a
   * host copy was kept at onload, nothing is read back: the device tensor is just disposed.
   */
  toHost(): this {
    if (this.isLowPrecision) return this.lowPrecisionToHost();
    const s = this.storage;
    if (s.tier === 'host') return this;
    if (s.tier === 'disk') return this.diskToHost(s.ref);
    const tensor = this.read();
    if (this.variable !== undefined && tensor instanceof tf.Variable) this.variable.trainable = tensor.trainable;
    if (s.tier === 'device' && s.host !== undefined) {
      if (tensor.dataId === s.hostOf) {
        tensor.dispose();
        this.storage = { tier: 'host', data: s.host };
        return this;
      }
      // The values changed behind our back: the kept copy is stale, read the device back instead.
      ledger.hostBytes -= s.host.byteLength;
    }
    // dataSync on the cpu backend returns the backend's own array: copy so that the host bytes are ours alone.
    const data = (tensor.dataSync() as HostArray).slice();
    tensor.dispose();
    this.storage = { tier: 'host', data };
    ledger.hostBytes += data.byteLength;
    return this;
  }

  /**
   * Moves the bytes from the host to the device: an exact upload. The host copy is released, unless
   * `keepHostCopy` keeps it (still counted in hostBytes) so that the next toHost() is a dispose, not a
   * readback: offloading immutable weights then costs nothing. On the cpu backend the device tensor and
   * the kept copy share one array (tfjs does not copy typed arrays there).
   */
  toDevice(options: { keepHostCopy?: boolean } = {}): this {
    const s = this.storage;
    if (s.tier === 'device') return this;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    if (s.tier === 'disk') return this.diskToHost(s.ref).toDevice(options);
    const tensor = this.upload(s.data);
    if (options.keepHostCopy === true) {
      this.storage = { tier: 'device', tensor, host: s.data, hostOf: tensor.dataId };
    } else {
      this.storage = { tier: 'device', tensor };
      ledger.hostBytes -= s.data.byteLength;
    }
    return this;
  }

  /** Replaces the values (as tfjs' setWeights does), on whichever tier they are. Shapes and dtypes must match. */
  assign(value: tf.Tensor): this {
    if (!(value instanceof tf.Tensor) || value.isDisposed) {
      throw new InvalidArgumentError(`Parameter ${describeParameter(this)}.assign() needs a live tf.Tensor.`);
    }
    if (!tf.util.arraysEqual(value.shape, this.shape as number[]) || value.dtype !== this.dtype) {
      throw new MemhooksError(
        ERROR_CODES.SHAPE_MISMATCH,
        `Cannot assign a ${value.dtype} tensor of shape [${value.shape.join(', ')}] to parameter ` +
          `${describeParameter(this)} (${this.dtype} [${this.shape.join(', ')}]). Pass a tensor of the same shape and dtype.`,
      );
    }
    if (this.isLowPrecision) return this.assignLowPrecision(value);
    const s = this.storage;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    // New host arrays rather than writes into the old ones: on the cpu backend an old array may still back
    // a tensor someone else holds (a view of the previous value), which must not change under them.
    const fresh = (): HostArray => (value.dataSync() as HostArray).slice();
    if (s.tier === 'host' || s.tier === 'disk') {
      // New values of a parameter on disk land on the host: the file keeps the old bytes.
      const data = fresh();
      if (s.tier === 'disk') ledger.hostBytes += data.byteLength;
      this.storage = { tier: 'host', data };
      return this;
    }
    let tensor = s.tensor;
    if (tensor instanceof tf.Variable) {
      // Assigning a variable its own buffer would drop its last reference to it (tfjs frees it first).
      if (value.dataId !== tensor.dataId) tensor.assign(value);
    } else if (tensor !== value) {
      tensor = tf.keep(tf.clone(value));
      s.tensor.dispose();
    }
    // A kept host copy must stay equal to the device bytes.
    this.storage = s.host === undefined ? { tier: 'device', tensor } : { tier: 'device', tensor, host: fresh(), hostOf: tensor.dataId };
    return this;
  }

  /**
   * Gives up ownership without freeing anything: returns the device tensor (undefined if the bytes were
   * elsewhere, which are then dropped) and leaves this Parameter disposed. unwrapLayersModel uses it so that
   * the old tree can no longer dispose the model's own variables.
   */
  release(): tf.Tensor | undefined {
    this.detachDecoded();
    const s = this.storage;
    if (s.tier === 'host') ledger.hostBytes -= s.data.byteLength;
    if (s.tier === 'device' && s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    this.storage = { tier: 'disposed' };
    return s.tier === 'device' ? s.tensor : undefined;
  }

  /** Releases the bytes on whatever tier they are. Idempotent. */
  dispose(): void {
    this.detachDecoded();
    const s = this.storage;
    if (s.tier === 'device') s.tensor.dispose();
    if (s.tier === 'device' && s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    if (s.tier === 'host') ledger.hostBytes -= s.data.byteLength;
    this.storage = { tier: 'disposed' };
  }

  /**
   * Releases the host copy kept by toDevice({ keepHostCopy: true }), leaving the device tensor alone: the
   * state toDevice() would have produced. A no-op when no copy is kept. Group offloading's remove() uses it.
   */
  dropHostCopy(): this {
    const s = this.storage;
    if (s.tier !== 'device' || s.host === undefined) return this;
    ledger.hostBytes -= s.host.byteLength;
    this.storage = { tier: 'device', tensor: s.tensor };
    return this;
  }

  // ---- Disk tier (group offloading's offloadToDiskPath, docs/group-offloading.md) ----

  /** Where the bytes are on disk while on the "disk" tier; undefined on the other tiers. */
  get diskRef(): DiskRef | undefined {
    return this.storage.tier === 'disk' ? this.storage.ref : undefined;
  }

  /**
   * Leaves the bytes only on disk: the caller has written them to `ref`'s file. Device tensors and host
   * arrays (a kept copy too) are released. From the "disk" tier it only changes the reference.
   */
  toDisk(ref: DiskRef): this {
    const s = this.storage;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    if (s.tier === 'device') {
      // The stored tensor itself (packed words when cast), not what read() returns.
      const tensor = s.tensor;
      if (this.variable !== undefined && tensor instanceof tf.Variable) this.variable.trainable = tensor.trainable;
      if (this.isLowPrecision) this.detachDecoded();
      tensor.dispose();
      if (s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    }
    if (s.tier === 'host') ledger.hostBytes -= s.data.byteLength;
    this.storage = { tier: 'disk', ref };
    return this;
  }

  /**
   * From the "disk" tier to the device with bytes already read (by the transfer worker, into staging memory):
   * an exact upload, no host copy kept. On the cpu backend the tensor adopts `data` without copying, so the
   * caller must not reuse that memory until the parameter leaves the device.
   */
  diskToDevice(data: HostArray): this {
    const s = this.storage;
    if (s.tier !== 'disk') {
      throw new MemhooksError(ERROR_CODES.PARAMETER_NOT_RESIDENT, `Parameter ${describeParameter(this)} is on the "${this.tier}" tier, not on disk; diskToDevice() loads only from disk.`);
    }
    this.storage = { tier: 'device', tensor: this.upload(data) };
    return this;
  }

  private diskToHost(ref: DiskRef): this {
    const data = ref.read();
    this.storage = { tier: 'host', data };
    ledger.hostBytes += data.byteLength;
    return this;
  }

  toString(): string {
    return `Parameter(${describeParameter(this)}, ${this.dtype}[${this.shape.join(', ')}], ${this.storage.tier})`;
  }

  // ---- Low-precision storage (layerwise casting, docs/layerwise-casting.md) ----
  // While storageDtype is float16, bfloat16 or an fp8, the storage holds the codes packed into int32 words
  // (src/dtypes/packing.ts): an int32 [words] tensor on the device, an Int32Array on the host. toHost() and
  // toDevice() move those words, so offloading a cast weight moves a half or a quarter of the bytes. There
  // is no float32 value until a decoded tensor is attached (the casting hook does, for one forward).

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
    if (!isLowPrecisionDtype(dtype)) throw new InvalidArgumentError(`Parameter ${describeParameter(this)}.castStorage() needs a low-precision dtype, got ${describeValue(dtype)}.`);
    if (this.dtype !== 'float32' || this.isLowPrecision) {
      throw new InvalidArgumentError(`Parameter ${describeParameter(this)} is stored as ${this.storageDtype}; only float32 storage can be cast to ${dtype}.`);
    }
    const s = this.storage;
    if (s.tier === 'host') {
      const packed = encodePacked(dtype, s.data as Float32Array);
      ledger.hostBytes += packed.words.byteLength - s.data.byteLength;
      this.storage = { tier: 'host', data: packed.words };
    } else if (s.tier === 'device') {
      const tensor = this.read();
      if (this.variable !== undefined && tensor instanceof tf.Variable) this.variable.trainable = tensor.trainable;
      const current = s.host !== undefined && tensor.dataId === s.hostOf ? s.host : tensor.dataSync();
      const packed = encodePacked(dtype, current as Float32Array);
      if (s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
      const words = tf.keep(tf.tensor(packed.words, [packed.words.length], 'int32'));
      tensor.dispose();
      this.storage = { tier: 'device', tensor: words };
    } else if (s.tier === 'disk') {
      // A weight on disk (generated there) is read once and its codes kept on the host, a half or a quarter of
      // its float32 bytes; the file keeps the float32 values (restoreFloat32Storage() leaves them on the host).
      const packed = encodePacked(dtype, s.ref.read() as Float32Array);
      ledger.hostBytes += packed.words.byteLength;
      this.storage = { tier: 'host', data: packed.words };
    } else {
      throw new InvalidArgumentError(`Parameter ${describeParameter(this)} is on the "${s.tier}" tier; cast it while it is on the device, the host or disk.`);
    }
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
    if (this.storage.tier === 'disk') this.toHost();
    const values = decodePacked(this.packedCodes());
    const s = this.storage;
    this.storageDtype = this.dtype;
    if (s.tier === 'host') {
      ledger.hostBytes += values.byteLength - s.data.byteLength;
      this.storage = { tier: 'host', data: values };
    } else if (s.tier === 'device') {
      if (s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
      s.tensor.dispose();
      this.storage = { tier: 'device', tensor: this.upload(values) };
    }
    return this;
  }

  /**
   * The stored codes: the host words, the kept host copy, or the device tensor's data (on the cpu backend
   * its very array, on others a copy). Read-only by contract.
   */
  packedCodes(): PackedCodes {
    const s = this.storage;
    if (!isLowPrecisionDtype(this.storageDtype)) throw new InvalidArgumentError(`Parameter ${describeParameter(this)} is stored as ${this.storageDtype}, not in low precision.`);
    if (s.tier === 'host') return viewPacked(this.storageDtype, s.data as Int32Array, this.size);
    if (s.tier === 'device') {
      // A current kept host copy (group offloading onloads with one) saves reading the words back.
      const words = s.host !== undefined && s.tensor.dataId === s.hostOf ? s.host : s.tensor.dataSync();
      return viewPacked(this.storageDtype, words as Int32Array, this.size);
    }
    throw new ParameterDisposedError(describeParameter(this));
  }

  /** The int32 device tensor of packed codes (for decoding on the device); throws when not on the device. */
  packedTensor(): tf.Tensor {
    const s = this.storage;
    if (!this.isLowPrecision) throw new InvalidArgumentError(`Parameter ${describeParameter(this)} is stored as ${this.storageDtype}, not in low precision.`);
    if (s.tier === 'device') return s.tensor;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    throw new ParameterNotResidentError(describeParameter(this), s.tier);
  }

  /** Gives a low-precision parameter the float32 tensor read() returns until detachDecoded(); takes ownership. */
  attachDecoded(tensor: tf.Tensor): void {
    if (!this.isLowPrecision) throw new InvalidArgumentError(`Parameter ${describeParameter(this)} is stored as ${this.storageDtype}; only low-precision storage takes a decoded tensor.`);
    if (tensor.dtype !== 'float32' || !tf.util.arraysEqual(tensor.shape, this.shape as number[])) {
      throw new MemhooksError(ERROR_CODES.SHAPE_MISMATCH, `Parameter ${describeParameter(this)} (float32 [${this.shape.join(', ')}]) cannot take a decoded ${tensor.dtype} tensor of shape [${tensor.shape.join(', ')}].`);
    }
    if (this.decoded !== tensor) this.detachDecoded();
    this.decoded = tf.keep(tensor);
  }

  /** Disposes the attached decoded tensor, if any. */
  detachDecoded(): void {
    const decoded = this.decoded;
    this.decoded = undefined;
    decoded?.dispose();
  }

  private readDecoded(): tf.Tensor {
    if (this.storage.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    if (this.decoded !== undefined && !this.decoded.isDisposed) return this.decoded;
    throw new MemhooksError(
      ERROR_CODES.PARAMETER_LOW_PRECISION,
      `Parameter ${describeParameter(this)} is stored as ${this.storageDtype} (layerwise casting) and has float32 values only ` +
        `inside the forward of its module. Call that module's forward (or the wrapped model's predict/apply/execute), or ` +
        `remove layerwise casting (handle.remove()) to get float32 storage back.`,
    );
  }

  /** toHost() of the packed words: the same moves as float32 bytes, never touching the decoded tensor's values. */
  private lowPrecisionToHost(): this {
    const s = this.storage;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    if (s.tier === 'disk') return this.diskToHost(s.ref);
    if (s.tier !== 'device') return this;
    this.detachDecoded();
    if (s.host !== undefined && s.tensor.dataId === s.hostOf) {
      s.tensor.dispose();
      this.storage = { tier: 'host', data: s.host };
      return this;
    }
    if (s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    const data = (s.tensor.dataSync() as Int32Array).slice();
    s.tensor.dispose();
    this.storage = { tier: 'host', data };
    ledger.hostBytes += data.byteLength;
    return this;
  }

  /** assign() while in low precision: the new values are cast to the storage dtype, on the tier the codes are on. */
  private assignLowPrecision(value: tf.Tensor): this {
    const s = this.storage;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    const packed = encodePacked(this.storageDtype as LowPrecisionDtype, value.dataSync() as Float32Array);
    if (s.tier === 'host' || s.tier === 'disk') {
      // As for float32 values: new values of a parameter on disk land on the host; the file keeps the old bytes.
      if (s.tier === 'disk') ledger.hostBytes += packed.words.byteLength;
      this.storage = { tier: 'host', data: packed.words };
    } else if (s.tier === 'device') {
      const words = tf.keep(tf.tensor(packed.words, [packed.words.length], 'int32'));
      s.tensor.dispose();
      this.storage = s.host === undefined ? { tier: 'device', tensor: words } : { tier: 'device', tensor: words, host: packed.words.slice(), hostOf: words.dataId };
    }
    return this;
  }

  private upload(data: HostArray): tf.Tensor {
    // Low-precision codes travel as their packed int32 words: a quarter or half of the float32 bytes.
    if (this.isLowPrecision) return tf.keep(tf.tensor(data, [data.length], 'int32'));
    const shape = this.shape as number[];
    if (!this.variable) return tf.keep(tf.tensor(data, shape, this.dtype));
    // The old variable was disposed when the bytes left the device, so its name is free again. The variable
    // shares the upload's buffer; disposing the upload handle only drops a reference.
    const upload = tf.tensor(data, shape, this.dtype);
    const variable = tf.variable(upload, this.variable.trainable, this.variable.name);
    upload.dispose();
    return variable;
  }
}

brand(Parameter, 'Parameter');

function isHostValue(value: unknown): value is HostValue {
  const v = value as HostValue | null;
  return (
    typeof v === 'object' && v !== null && (v.data instanceof Float32Array || v.data instanceof Int32Array) &&
    Array.isArray(v.shape) && v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)
  );
}

