/**
 * What a GPU backend of tfjs holds, read from the backend itself.
 *
 * On `webgl` and `webgpu` a freed tensor does not give its memory back to the GPU: tfjs 4.22 keeps the texture
 * (webgl's TextureManager) or the buffer (webgpu's BufferManager) in a free pool, keyed by shape and format, to
 * reuse it for the next tensor of that shape. What the GPU holds is therefore what live tensors use plus that
 * pool, and the live tensors' bytes alone (what the engine counts) can be far below it. The backends report
 * both numbers in `tf.memory()`:
 *
 * | backend | in use | held (in use + free pool) |
 * | --- | --- | --- |
 * | webgl | `numBytesInGPU` | `numBytesInGPUAllocated` (`numBytesInGPUFree` is the pool) |
 * | webgpu | `numBytesInGPU` | `numBytesAllocatedInGPU` |
 *
 * A tensor made from values (`tf.tensor(array)`) holds nothing on the GPU until a kernel first reads it: both
 * backends upload lazily.
 *
 * The held bytes only grow when the backend creates a texture or buffer, so the gauge samples them right after
 * each creation (a wrapper on the manager's acquire method of this backend instance): that is the peak, exact,
 * at the cost of one comparison per texture rather than per tensor.
 */

/** The two numbers a GPU backend reports, and the peak of the held one. */
export interface GpuGauge {
  /** Bytes of the textures or buffers that back live tensors. */
  inUse(): number;
  /** What the GPU holds for tfjs: inUse plus the backend's free pool. */
  held(): number;
  /** Highest held() seen since the last reset (the gauge's own sampling; writable for resets). */
  peak: number;
  /** Removes the sampling wrapper. */
  detach(): void;
}

/** The parts of tfjs-backend-webgl 4.22's MathBackendWebGL and TextureManager that are read here. */
interface WebglInternals {
  numBytesInGPU: number;
  textureManager: { numBytesAllocated: number; acquireTexture: (...args: unknown[]) => unknown };
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend and BufferManager that are read here. */
interface WebgpuInternals {
  bufferManager: { numBytesUsed: number; numBytesAllocated: number; acquireBuffer: (...args: unknown[]) => unknown };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The webgl backend's internals, when `backend` is one (checked by shape, so a changed tfjs reads as "not one"). */
export function webglInternals(backend: unknown): WebglInternals | undefined {
  const b = record(backend);
  const tm = record(b?.textureManager);
  if (typeof b?.numBytesInGPU !== 'number' || typeof tm?.numBytesAllocated !== 'number' || typeof tm.acquireTexture !== 'function') return undefined;
  return b as unknown as WebglInternals;
}

/** The webgpu backend's internals, when `backend` is one. */
export function webgpuInternals(backend: unknown): WebgpuInternals | undefined {
  const bm = record(record(backend)?.bufferManager);
  if (typeof bm?.numBytesUsed !== 'number' || typeof bm.numBytesAllocated !== 'number' || typeof bm.acquireBuffer !== 'function') return undefined;
  return backend as WebgpuInternals;
}

/**
 * A gauge on a GPU backend, or undefined for a backend whose memory is not a GPU's (cpu, wasm, tensorflow).
 * The wrapper is an own property of the backend's manager over its class's method; detach() deletes it.
 */
export function attachGpuGauge(backend: unknown): GpuGauge | undefined {
  const webgl = webglInternals(backend);
  if (webgl !== undefined) {
    const manager = webgl.textureManager;
    return wrapAcquire(manager, 'acquireTexture', () => webgl.numBytesInGPU, () => manager.numBytesAllocated);
  }
  const webgpu = webgpuInternals(backend);
  if (webgpu !== undefined) {
    const manager = webgpu.bufferManager;
    return wrapAcquire(manager, 'acquireBuffer', () => manager.numBytesUsed, () => manager.numBytesAllocated);
  }
  return undefined;
}

function wrapAcquire<K extends string>(
  manager: Record<K, (...args: unknown[]) => unknown>,
  method: K,
  inUse: () => number,
  held: () => number,
): GpuGauge {
  const acquire = manager[method];
  const own = Object.hasOwn(manager, method);
  const gauge: GpuGauge = {
    inUse,
    held,
    peak: held(),
    detach() {
      if (manager[method] !== wrapped) return;
      if (own) manager[method] = acquire;
      else delete manager[method];
    },
  };
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const result = acquire.apply(this, args);
    const now = held();
    if (now > gauge.peak) gauge.peak = now;
    return result;
  };
  manager[method] = wrapped;
  return gauge;
}
