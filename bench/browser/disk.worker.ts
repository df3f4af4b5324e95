/**
 * The model's dedicated Worker of `memhooks bench browser-disk` (disk.page.ts starts one per run). It does what
 * bench/beyondTheCap.ts does in Node: generates a zoo pipeline straight into files (here OPFS, through the browser
 * platform's file calls, which block this thread on Atomics.wait: allowed in a dedicated Worker of a cross-origin
 * isolated page) or into host memory, applies group offloading with useStream to every component (one block per
 * group, or one leaf module per group when the request says so), makes one image (one Euler step and the VAE decode),
 * and measures it. tfjs' webgl backend runs here on an OffscreenCanvas. It posts its phases (the page samples memory
 * by them) and then its numbers.
 */
// First: registers the browser platform before any other module of memhooks runs.
import { applyGroupOffloading, events, memory, opfsReady, useBackend, type StrategyHandle } from '../../src/browser.js';
import * as tf from '@tensorflow/tfjs-core';
import {
  createDiffusionComponents,
  DIFFUSION_COMPONENT_NAMES,
  DIFFUSION_SIZES,
  diffusionParameterCounts,
  generateImage,
  type DiffusionComponents,
  type DiffusionSizeName,
} from '../../src/browser-zoo.js';
import type { DiskRunRequest, DiskRunResult, WorkerMessage } from './disk.protocol.js';
import { webglRenderer } from './webglRenderer.js';

/** What this file uses of a dedicated Worker's scope and of the storage API (the DOM types are not in this project's lib). */
interface DirectoryHandle {
  getDirectoryHandle(name: string): Promise<DirectoryHandle>;
  removeEntry(name: string, options: { recursive: boolean }): Promise<void>;
}
interface WorkerScope {
  onmessage: ((event: { data: DiskRunRequest }) => void) | null;
  postMessage(message: WorkerMessage): void;
  crossOriginIsolated?: boolean;
  navigator: { storage: { estimate(): Promise<{ usage?: number }>; getDirectory(): Promise<DirectoryHandle> } };
  performance: { memory?: { usedJSHeapSize: number } };
}
const scope = globalThis as unknown as WorkerScope;

async function startBackend(name: string): Promise<string> {
  if (name === 'webgl') {
    await import('@tensorflow/tfjs-backend-webgl');
    await useBackend('webgl');
    return `webgl in a dedicated Worker (OffscreenCanvas), ${webglRenderer()}`;
  }
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    await useBackend('wasm');
    return 'wasm in a dedicated Worker';
  }
  throw new Error(`The browser-disk page runs on webgl or wasm, not "${name}".`);
}

/**
 * memhooks' host ledger at its highest, sampled at every onload/offload (the run is synchronous: no timer fires here).
 * The JS heap is sampled from outside (bench/browserDiskHeap.ts): a dedicated Worker has no performance.memory.
 */
class LedgerPeak {
  peak = 0;
  sample = (): void => {
    this.peak = Math.max(this.peak, memory.stats().hostBytes);
  };
  start(): void {
    events.on('onload', this.sample);
    events.on('offload', this.sample);
  }
  stop(): void {
    events.off('onload', this.sample);
    events.off('offload', this.sample);
  }
}

/** Removes the OPFS folder `dir` (absolute POSIX path from the OPFS root) and everything under it; absent is fine. */
async function removeOpfsFolder(dir: string): Promise<void> {
  const parts = dir.split('/').filter((p) => p !== '');
  let parent = await scope.navigator.storage.getDirectory();
  try {
    for (const p of parts.slice(0, -1)) parent = await parent.getDirectoryHandle(p);
    await parent.removeEntry(parts.at(-1)!, { recursive: true });
  } catch (error) {
    if ((error as { name?: string }).name !== 'NotFoundError') throw error;
  }
}

const usage = async (): Promise<number> => (await scope.navigator.storage.estimate()).usage ?? 0;

function build(size: DiffusionSizeName, request: DiskRunRequest): DiffusionComponents {
  return request.tier === 'disk' ? createDiffusionComponents(size, { tier: 'disk', dir: request.dir, seed: 0 }) : createDiffusionComponents(size, { tier: 'host', seed: 0 });
}

async function run(request: DiskRunRequest): Promise<DiskRunResult> {
  const post = (phase: 'generating' | 'applying' | 'image' | 'cleanup'): void => scope.postMessage({ kind: 'phase', phase });
  const size = request.size as DiffusionSizeName;
  const device = await startBackend(request.backend);
  if (request.tier === 'disk') {
    // The OPFS server (a Worker of this Worker) boots only while this thread is idle: before the first file call.
    await opfsReady();
    await removeOpfsFolder(request.dir);
  }
  const usageBefore = await usage();
  const tensorsBefore = tf.memory().numTensors;
  const deviceBefore = memory.stats().deviceBytes;
  memory.resetPeak();
  const sampler = new LedgerPeak();
  sampler.start();
  let c: DiffusionComponents | undefined;
  const handles: StrategyHandle[] = [];
  try {
    post('generating');
    let t0 = performance.now();
    c = build(size, request);
    const generateMs = performance.now() - t0;
    sampler.sample();
    const filesBytes = request.tier === 'disk' ? (await usage()) - usageBefore : 0;
    post('applying');
    t0 = performance.now();
    const options = request.offloadType === 'block_level' ? ({ offloadType: 'block_level', numBlocksPerGroup: 1 } as const) : ({ offloadType: 'leaf_level' } as const);
    for (const key of DIFFUSION_COMPONENT_NAMES) handles.push(applyGroupOffloading(c[key], { ...options, useStream: true }));
    const applyMs = performance.now() - t0;
    sampler.sample();
    post('image');
    // Lets the page see the phase before this thread is busy for the whole image.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { latentSize, promptTokens } = DIFFUSION_SIZES[size];
    t0 = performance.now();
    const imageStartBytes = memory.stats().deviceBytes;
    const { result: image, peakDeviceBytes } = memory.track(() => generateImage(c!, { steps: 1, latentSize, promptTokens, seed: 1 }));
    const values = image.dataSync();
    const imageMs = performance.now() - t0;
    sampler.sample();
    const shape = image.shape;
    image.dispose();
    for (const h of handles.splice(0).reverse()) h.remove();
    for (const key of DIFFUSION_COMPONENT_NAMES) c[key].dispose();
    c = undefined;
    post('cleanup');
    sampler.sample();
    const leakedTensors = tf.memory().numTensors - tensorsBefore;
    if (request.tier === 'disk') await removeOpfsFolder(request.dir);
    return {
      size,
      tier: request.tier,
      backend: request.backend,
      device,
      crossOriginIsolated: scope.crossOriginIsolated === true,
      weightBytes: diffusionParameterCounts(size).total * 4,
      filesBytes,
      usageBeforeBytes: usageBefore,
      usageAfterCleanupBytes: await usage(),
      generateMs,
      applyMs,
      imageMs,
      peakGpuBytes: Math.max(0, peakDeviceBytes - imageStartBytes),
      gpuBeforeBytes: deviceBefore,
      peakGpuHeldAbsoluteBytes: memory.stats().peakDeviceBytes,
      peakHostLedgerBytes: sampler.peak,
      performanceMemoryInWorker: scope.performance.memory !== undefined,
      shape,
      finite: values.every(Number.isFinite),
      leakedTensors,
    };
  } finally {
    sampler.stop();
    for (const h of handles.reverse()) h.remove();
    if (c !== undefined) for (const key of DIFFUSION_COMPONENT_NAMES) c[key].dispose();
    if (request.tier === 'disk') await removeOpfsFolder(request.dir).catch(() => undefined);
  }
}

scope.onmessage = (event) => {
  void run(event.data).then(
    (result) => scope.postMessage({ kind: 'done', result }),
    (error: unknown) => scope.postMessage({ kind: 'error', error: String((error instanceof Error && error.stack) || error) }),
  );
};
