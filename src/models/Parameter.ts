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
  | { tier: 'disposed' };

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
    const s = this.storage;
    if (s.tier === 'device') {
      if (s.tensor.isDisposed) throw new ParameterDisposedError(describeParameter(this), 'its tensor was disposed outside memhooks');
      return s.tensor;
    }
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    throw new ParameterNotResidentError(describeParameter(this), s.tier);
  }

  /** The device tensor, or undefined when the bytes are elsewhere. Never throws. */
  peek(): tf.Tensor | undefined {
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
    const s = this.storage;
    if (s.tier === 'host') return this;
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
    const s = this.storage;
    if (s.tier === 'disposed') throw new ParameterDisposedError(describeParameter(this));
    // New host arrays rather than writes into the old ones: on the cpu backend an old array may still back
    // a tensor someone else holds (a view of the previous value), which must not change under them.
    const fresh = (): HostArray => (value.dataSync() as HostArray).slice();
    if (s.tier === 'host') {
      this.storage = { tier: 'host', data: fresh() };
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
    const s = this.storage;
    if (s.tier === 'host') ledger.hostBytes -= s.data.byteLength;
    if (s.tier === 'device' && s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    this.storage = { tier: 'disposed' };
    return s.tier === 'device' ? s.tensor : undefined;
  }

  /** Releases the bytes on whatever tier they are. Idempotent. */
  dispose(): void {
    const s = this.storage;
    if (s.tier === 'device') s.tensor.dispose();
    if (s.tier === 'device' && s.host !== undefined) ledger.hostBytes -= s.host.byteLength;
    if (s.tier === 'host') ledger.hostBytes -= s.data.byteLength;
    this.storage = { tier: 'disposed' };
  }

  toString(): string {
    return `Parameter(${describeParameter(this)}, ${this.dtype}[${this.shape.join(', ')}], ${this.storage.tier})`;
  }

  private upload(data: HostArray): tf.Tensor {
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

