import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../base/errors.js';
import { platform, type StorageUsage } from '../base/platform/Platform.js';
import { ledger } from './ledger.js';
import { assertDeviceBudget, deviceBudget, setDeviceBudget } from './budget.js';
import { attachGpuGauge, type GpuGauge } from './gpuMemory.js';
import type { Size } from './size.js';

/**
 * Device-memory accounting from the tfjs engine, per backend, the analog of torch.cuda.memory_allocated /
 * max_memory_allocated.
 *
 * Why our own tracker: tf.memory().numBytes counts every tensor handle (a reshape or a variable over the
 * same buffer counts twice) and sums all backends; tf.profile samples only after kernels and triples the
 * cost of small ops. Here each data buffer counts once, on the backend that holds it, from the moment the
 * engine registers it until it frees it, including uploads created and disposed between kernels. It does
 * not see allocations a kernel makes internally without the engine (cpu Softmax temporaries) nor XNNPACK's
 * packed weight copies on wasm; `wasmHeapBytes` reports the wasm heap for that.
 *
 * On the GPU backends (webgl, webgpu) the device bytes are instead what the GPU holds, read from the backend:
 * textures or buffers in use plus the free pool tfjs keeps for reuse (gpuMemory.ts), whose peak is sampled at
 * every texture or buffer the backend creates.
 *
 * Tensors created before memhooks was first imported are not counted: import memhooks first.
 */
type DataId = object;
/** Tags the engine's own buffer record, so that no second map is looked up per tensor (the hot path). */
const COUNTED_IN = Symbol.for('memhooks.countedIn');
type Backend = tf.KernelBackend;

interface Bucket {
  bytes: number;
  peak: number;
}

/** The engine's record of a data buffer; the tracker tags it with the bucket it was counted in. */
interface BufferInfo {
  backend: Backend;
  bytes: number;
  [COUNTED_IN]?: Bucket;
}

type BufferMap = WeakMap<DataId, BufferInfo>;

interface EngineInternals {
  backendName: string;
  registry: Record<string, Backend>;
  state: { tensorInfo: BufferMap };
  moveData(backend: Backend, dataId: DataId): void;
  reset(...args: unknown[]): void;
}

export interface MemoryStats {
  /**
   * Bytes of live data buffers on the active backend. On webgl and webgpu: what the GPU holds for tfjs
   * (gpuBytesHeld), which is what the device budget counts there.
   */
  deviceBytes: number;
  /** Highest deviceBytes since the last resetPeak (or since memhooks was imported). */
  peakDeviceBytes: number;
  /**
   * webgl and webgpu only: bytes of the textures (webgl) or buffers (webgpu) that back live tensors, the
   * backend's `tf.memory().numBytesInGPU`. A tensor made from values holds none until a kernel first reads it.
   */
  gpuBytesInUse?: number;
  /**
   * webgl and webgpu only: what the GPU holds for tfjs, gpuBytesInUse plus the free pool where tfjs keeps
   * released textures or buffers for reuse (`numBytesInGPUAllocated` on webgl, `numBytesAllocatedInGPU` on
   * webgpu). Disposing a tensor lowers gpuBytesInUse, not this, unless an offloading strategy is applied.
   */
  gpuBytesHeld?: number;
  /** Bytes memhooks holds in host memory (offloaded parameters, staging). */
  hostBytes: number;
  /** Bytes memhooks has written to disk for offloading. */
  diskBytes: number;
  /** Size of the wasm heap when the active backend is wasm: a high-water mark that includes XNNPACK copies. */
  wasmHeapBytes?: number;
  /**
   * In a page, where the disk tier is the Origin Private File System: the origin's storage as the browser last
   * estimated it (navigator.storage.estimate()). stats() stays synchronous: a read of an estimate older than a
   * second starts a refresh in the background and returns the last one (`measuredAt` says how old it is). Absent
   * under Node and before the first estimate arrives.
   */
  storage?: StorageUsage;
}

class MemoryTracker {
  private readonly buckets = new Map<Backend, Bucket>();
  /** The GPU gauge of each backend seen, or null for a backend that is not a GPU's. */
  private readonly gauges = new Map<Backend, GpuGauge | null>();
  private lastBackend: Backend | undefined;
  private lastBucket: Bucket | undefined;

  constructor(private readonly engine: EngineInternals) {}

  /** The engine's buffer map we patched (engine.reset() replaces it), or undefined when off. */
  private patched: BufferMap | undefined;

  /**
   * Hooks the engine's own map of data buffers (engine.state.tensorInfo): the engine adds an entry exactly
   * when a new buffer is registered and deletes it exactly when the buffer is freed, so patching that map's
   * `set` and `delete` counts each buffer once with no lookup of our own on the hot path (patching
   * trackTensor instead costs one more lookup per tensor: about twice the overhead, measured). Moves between
   * backends go through engine.moveData, patched too. uninstall() restores everything.
   */
  install(): void {
    if (this.patched !== undefined) return;
    // Fresh counters: buffers counted before an uninstall may have been freed unseen since, so counting
    // starts from zero (buffers still tagged from before update their old, detached counters).
    this.buckets.clear();
    this.detachGauges();
    this.lastBackend = undefined;
    this.lastBucket = undefined;
    const tracker = this;
    const map = this.engine.state.tensorInfo as BufferMap;
    const { set, delete: remove, get } = WeakMap.prototype;
    map.set = function (dataId, info) {
      if (info.bytes > 0) tracker.count(info);
      return set.call(this, dataId, info) as BufferMap;
    };
    map.delete = function (dataId) {
      const info = get.call(this, dataId) as BufferInfo | undefined;
      const bucket = info?.[COUNTED_IN];
      if (bucket !== undefined) {
        bucket.bytes -= info!.bytes;
        info![COUNTED_IN] = undefined;
      }
      return remove.call(this, dataId);
    };
    const moveData = this.engine.moveData;
    this.engine.moveData = function (backend, dataId) {
      moveData.call(this, backend, dataId);
      const info = map.get(dataId);
      const from = info?.[COUNTED_IN];
      if (from === undefined) return;
      const to = tracker.bucket(backend);
      if (from === to) return;
      from.bytes -= info!.bytes;
      grow(to, info!.bytes);
      info![COUNTED_IN] = to;
    };
    const reset = this.engine.reset;
    this.engine.reset = function (...args: unknown[]) {
      reset.apply(this, args);
      // A reset engine has a new, empty map of buffers: count there from now on.
      tracker.uninstall();
      tracker.install();
    };
    this.patched = map;
  }

  uninstall(): void {
    const map = this.patched as Partial<BufferMap> | undefined;
    if (map === undefined) return;
    delete map.set;
    delete map.delete;
    delete (this.engine as unknown as Record<string, unknown>).moveData;
    delete (this.engine as unknown as Record<string, unknown>).reset;
    this.detachGauges();
    this.patched = undefined;
  }

  private detachGauges(): void {
    for (const gauge of this.gauges.values()) gauge?.detach();
    this.gauges.clear();
  }

  /** The backend's GPU gauge, attached the first time the backend is seen while tracking is on. */
  private gauge(backend: Backend | undefined): GpuGauge | undefined {
    if (backend === undefined || this.patched === undefined) return undefined;
    let gauge = this.gauges.get(backend);
    if (gauge === undefined) this.gauges.set(backend, (gauge = attachGpuGauge(backend) ?? null));
    return gauge ?? undefined;
  }

  get enabled(): boolean {
    return this.patched !== undefined;
  }

  stats(): MemoryStats {
    const backend = this.activeBackend();
    const b = backend === undefined ? { bytes: 0, peak: 0 } : this.bucket(backend);
    const stats: MemoryStats = {
      deviceBytes: b.bytes,
      peakDeviceBytes: b.peak,
      hostBytes: ledger.hostBytes,
      diskBytes: ledger.diskBytes,
    };
    const heap = wasmHeapBytes(backend);
    if (heap !== undefined) stats.wasmHeapBytes = heap;
    const storage = platform().storageEstimate?.();
    if (storage !== undefined) stats.storage = { ...storage };
    const gauge = this.gauge(backend);
    if (gauge !== undefined) {
      const held = gauge.held();
      stats.deviceBytes = stats.gpuBytesHeld = held;
      stats.peakDeviceBytes = Math.max(gauge.peak, held);
      stats.gpuBytesInUse = gauge.inUse();
    }
    return stats;
  }

  /** Bytes of live tensors on a named backend (for tests and multi-backend setups); not the GPU's pool. */
  bytesOn(backendName: string): number {
    const backend = this.engine.registry[backendName];
    return backend === undefined ? 0 : (this.buckets.get(backend)?.bytes ?? 0);
  }

  resetPeak(): void {
    for (const b of this.buckets.values()) b.peak = b.bytes;
    for (const gauge of this.gauges.values()) if (gauge !== null) gauge.peak = gauge.held();
  }

  /**
   * Runs fn and reports the peak of device bytes during it (absolute, as torch.cuda.max_memory_allocated
   * after reset_peak_memory_stats). Nests: an outer track still sees an inner peak.
   */
  track<T>(fn: () => T): { result: T; peakDeviceBytes: number } {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`memory.track(fn) needs a function to run, got ${typeof fn}.`);
    const saved = new Map<Backend, number>();
    for (const [k, b] of this.buckets) {
      saved.set(k, b.peak);
      b.peak = b.bytes;
    }
    const backend = this.activeBackend();
    const start = backend === undefined ? 0 : this.bucket(backend).bytes;
    let peakDeviceBytes = start;
    const gauge = this.gauge(backend);
    const savedGaugePeak = gauge?.peak ?? 0;
    if (gauge !== undefined) gauge.peak = peakDeviceBytes = gauge.held();
    try {
      const result = fn();
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        throw new InvalidArgumentError(
          'memory.track(fn) measures synchronous work, but fn returned a promise: the peak would stop at its first await. ' +
            'For async work call memory.resetPeak(), await it, then read memory.stats().peakDeviceBytes.',
        );
      }
      if (gauge !== undefined) peakDeviceBytes = Math.max(gauge.peak, gauge.held());
      else if (backend !== undefined) peakDeviceBytes = this.bucket(backend).peak;
      return { result, peakDeviceBytes };
    } finally {
      for (const [k, b] of this.buckets) b.peak = Math.max(b.peak, saved.get(k) ?? 0);
      if (gauge !== undefined) gauge.peak = Math.max(gauge.peak, savedGaugePeak);
    }
  }

  private count(info: BufferInfo): void {
    const bucket = this.bucket(info.backend);
    info[COUNTED_IN] = bucket;
    grow(bucket, info.bytes);
  }

  private bucket(backend: Backend): Bucket {
    if (backend === this.lastBackend) return this.lastBucket!;
    let b = this.buckets.get(backend);
    if (b === undefined) {
      this.buckets.set(backend, (b = { bytes: 0, peak: 0 }));
      // A GPU backend's peak is sampled from its first texture or buffer on: attach its gauge now.
      this.gauge(backend);
    }
    this.lastBackend = backend;
    this.lastBucket = b;
    return b;
  }

  private activeBackend(): Backend | undefined {
    const name = this.engine.backendName;
    return name == null ? undefined : this.engine.registry[name];
  }
}

function grow(b: Bucket, bytes: number): void {
  b.bytes += bytes;
  if (b.bytes > b.peak) b.peak = b.bytes;
}

function wasmHeapBytes(backend: Backend | undefined): number | undefined {
  const heap = (backend as unknown as { wasm?: { HEAPU8?: Uint8Array } } | undefined)?.wasm?.HEAPU8;
  return heap?.buffer.byteLength;
}

const KEY = Symbol.for('memhooks.memoryTracker');

/** One tracker per engine, shared by every copy of memhooks in the process. */
function trackerFor(engine: EngineInternals): MemoryTracker {
  const holder = engine as unknown as Record<symbol, MemoryTracker | undefined>;
  let tracker = holder[KEY];
  if (tracker === undefined) {
    tracker = new MemoryTracker(engine);
    tracker.install();
    Object.defineProperty(engine, KEY, { value: tracker, enumerable: false });
  }
  return tracker;
}

const tracker = trackerFor(tf.engine() as unknown as EngineInternals);

// memory.trace is added by src/diagnostics/memory.ts: tracing needs hooks and modules, floors above this one.
export const memory = {
  stats: (): MemoryStats => tracker.stats(),
  resetPeak: (): void => tracker.resetPeak(),
  track: <T>(fn: () => T): { result: T; peakDeviceBytes: number } => tracker.track(fn),
  bytesOn: (backendName: string): number => tracker.bytesOn(backendName),
  /**
   * Turns tracking off and on, for benchmarks that measure its overhead. Switching it on starts counting
   * afresh from zero: what was allocated or freed while it was off cannot be known, so deviceBytes then
   * counts only buffers created from that moment on (never more than are alive).
   */
  setEnabled: (on: boolean): void => (on ? tracker.install() : tracker.uninstall()),
  get enabled(): boolean {
    return tracker.enabled;
  },
  /**
   * Sets the device budget (bytes or a size string such as '2GiB'); undefined clears it. Onloads by memhooks
   * strategies that would take the device past it throw DeviceBudgetExceededError before allocating. On wasm a
   * default below the 4 GiB heap cap applies when none is set (src/runtime/budget.ts says why).
   */
  setDeviceBudget: (size: Size | undefined): void => setDeviceBudget(size),
  /** The budget in force on the active backend (bytes), or undefined when there is none. */
  get deviceBudget(): number | undefined {
    return deviceBudget();
  },
  /**
   * For strategies that onload weights: throws DeviceBudgetExceededError, before anything is allocated, when
   * `bytes` more on the device would pass the budget in force (nothing happens when there is none).
   * @param bytes What the onload would add to the device.
   * @param what What is onloaded, for the message: 'group "blocks_0"', 'the weights of module "head"'.
   * @param advice What the user can do instead, one or two sentences ending in a period (e.g. 'Use smaller
   *   groups.'); the message adds how to raise the budget unless the advice names memory.setDeviceBudget.
   */
  assertDeviceBudget: (bytes: number, what: string, advice = 'Offload more of the model (group offloading).'): void =>
    assertDeviceBudget(bytes, tracker.stats().deviceBytes, what, advice),
};
