import * as tf from '@tensorflow/tfjs-core';
import { events } from './events.js';
import { webglInternals, webgpuInternals } from './gpuMemory.js';

/**
 * Offloading promises fewer device bytes, but on the GPU backends a disposed weight's texture or buffer goes to
 * tfjs' free pool (gpuMemory.ts), so offloading alone lowers the count of live tensors and not what the GPU
 * holds. While a hold is taken (holdGpuPoolsEmpty), freed memory really goes back to the GPU:
 *
 * - webgl: the flag `WEBGL_DELETE_TEXTURE_THRESHOLD` is 0. tfjs 4.22's TextureManager deletes a released
 *   texture instead of pooling it when the bytes it has allocated exceed the threshold (-1, the default, means
 *   never), and the flag is read at each release, so 0 deletes every texture released from then on.
 * - webgpu: tfjs 4.22 has no such flag; its BufferManager pools every released buffer. The hold wraps that
 *   backend's releaseBuffer so that tensor storage buffers are destroyed instead (uniform and staging buffers,
 *   small and made for every kernel, keep being reused). webgpu also defers the release of a buffer that
 *   commands still waiting to be submitted use (it batches kernels into one submission), so an offloaded
 *   weight would stay on the GPU until the batch ends, after the next groups were onloaded: each `offload`
 *   event submits the pending commands, which releases the weights it offloaded.
 * - both: what the pools hold when the hold starts is freed too, since the flag only acts on later releases.
 *
 * Holds nest: the first one takes effect, and the last release restores the flag exactly as it was (a value
 * the user set, or unset so that tfjs' default applies again) and removes the webgpu wrapper. The cost is a
 * new texture or buffer for every kernel output instead of a reused one; the offloading strategies already
 * upload every weight at each call, which costs far more.
 */
export const WEBGL_DELETE_TEXTURE_THRESHOLD = 'WEBGL_DELETE_TEXTURE_THRESHOLD';

/** webgpu's GPUBufferUsage.STORAGE: the usage bit of the buffers that hold tensors. */
const STORAGE_USAGE = 0x80;

interface HoldState {
  holders: number;
  restore: (() => void) | undefined;
}

// Process-global so that both builds of memhooks in one process share one count (as the device budget does).
const KEY = Symbol.for('memhooks.gpuPoolHold');
const state = ((globalThis as Record<symbol, unknown>)[KEY] ??= { holders: 0, restore: undefined }) as HoldState;

/**
 * Keeps the GPU backends' free pools empty until the returned function is called (once; later calls do
 * nothing). The offloading strategies take a hold for as long as they are applied (strategies/registry.ts).
 */
export function holdGpuPoolsEmpty(): () => void {
  if (state.holders++ === 0) state.restore = emptyPools();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--state.holders > 0) return;
    const restore = state.restore;
    state.restore = undefined;
    restore?.();
  };
}

/** How many holds are taken now (for tests and diagnostics). */
export function gpuPoolHolds(): number {
  return state.holders;
}

function emptyPools(): () => void {
  const restores = [setTextureThreshold()];
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  for (const backend of Object.values(registry)) {
    drainWebglPool(backend);
    restores.push(destroyReleasedWebgpuBuffers(backend));
  }
  return () => {
    for (const restore of restores.reverse()) restore();
  };
}

function setTextureThreshold(): () => void {
  const env = tf.env();
  const flags = env.getFlags();
  const had = Object.hasOwn(flags, WEBGL_DELETE_TEXTURE_THRESHOLD);
  const value = flags[WEBGL_DELETE_TEXTURE_THRESHOLD];
  try {
    env.set(WEBGL_DELETE_TEXTURE_THRESHOLD, 0);
  } catch {
    // Registered by tfjs-backend-webgl: without that package there is no texture pool to bound.
    return () => {};
  }
  return () => {
    if (had) env.set(WEBGL_DELETE_TEXTURE_THRESHOLD, value!);
    else delete flags[WEBGL_DELETE_TEXTURE_THRESHOLD];
  };
}

/** tfjs-backend-webgl 4.22's TextureManager fields that hold and count its free pool. */
interface TexturePool {
  gpgpu: { deleteMatrixTexture(texture: unknown): void };
  freeTextures: Record<string, Array<{ texture: unknown }>>;
  numFreeTextures: number;
  _numBytesAllocated: number;
  _numBytesFree: number;
}

function isTexturePool(manager: unknown): manager is TexturePool {
  const m = manager as Partial<TexturePool> | null;
  return (
    typeof m?.gpgpu?.deleteMatrixTexture === 'function' &&
    typeof m.freeTextures === 'object' &&
    m.freeTextures !== null &&
    typeof m.numFreeTextures === 'number' &&
    typeof m._numBytesAllocated === 'number' &&
    typeof m._numBytesFree === 'number'
  );
}

/** Deletes the textures webgl keeps for reuse. Left alone when tfjs' fields are not the ones read here. */
function drainWebglPool(backend: unknown): void {
  const manager = webglInternals(backend)?.textureManager;
  if (!isTexturePool(manager)) return;
  for (const list of Object.values(manager.freeTextures)) {
    for (const { texture } of list) manager.gpgpu.deleteMatrixTexture(texture);
    // Emptied in place: acquireTexture looks the shape's list up again and finds nothing to reuse.
    list.length = 0;
  }
  // Every free texture was deleted, so the free bytes all leave the allocated ones.
  manager._numBytesAllocated -= manager._numBytesFree;
  manager._numBytesFree = 0;
  manager.numFreeTextures = 0;
}

/** tfjs-backend-webgpu 4.22's WebGPUBackend methods that submit the commands it has batched. */
interface CommandBatch {
  commandEncoder: unknown;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

function submitsBatches(backend: unknown): backend is CommandBatch {
  const b = backend as Partial<CommandBatch> | null;
  return typeof b?.endComputePassEncoder === 'function' && typeof b.submitQueue === 'function' && b !== null && 'commandEncoder' in b;
}

/** tfjs-backend-webgpu 4.22's BufferManager fields that hold and count its free pool. */
interface BufferPool {
  freeBuffers: Map<string, Array<{ size: number; destroy(): void }>>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  releaseBuffer: (buffer: { usage: number }, reuse?: boolean) => void;
}

function isBufferPool(manager: unknown): manager is BufferPool {
  const m = manager as Partial<BufferPool> | null;
  return m?.freeBuffers instanceof Map && typeof m.numFreeBuffers === 'number' && typeof m.releaseBuffer === 'function';
}

/** Destroys webgpu's free storage buffers and those released from now on; returns how to stop. */
function destroyReleasedWebgpuBuffers(backend: unknown): () => void {
  const manager = webgpuInternals(backend)?.bufferManager;
  if (!isBufferPool(manager)) return () => {};
  for (const list of manager.freeBuffers.values()) {
    for (const buffer of list) {
      buffer.destroy();
      manager.numBytesAllocated -= buffer.size;
      manager.numFreeBuffers--;
    }
    // Emptied in place, never removed: releaseBuffer reads an empty map as a disposed manager.
    list.length = 0;
  }
  const release = manager.releaseBuffer;
  const own = Object.hasOwn(manager, 'releaseBuffer');
  const wrapped: BufferPool['releaseBuffer'] = function (this: unknown, buffer, reuse = true) {
    release.call(this, buffer, reuse && (buffer.usage & STORAGE_USAGE) === 0);
  };
  manager.releaseBuffer = wrapped;
  const submit = (): void => {
    if (!submitsBatches(backend) || backend.commandEncoder == null) return;
    backend.endComputePassEncoder();
    backend.submitQueue();
  };
  events.on('offload', submit);
  return () => {
    events.off('offload', submit);
    if (manager.releaseBuffer !== wrapped) return;
    if (own) manager.releaseBuffer = release;
    else delete (manager as Partial<BufferPool>).releaseBuffer;
  };
}
