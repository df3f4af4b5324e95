// The backend of a browser-suite page (vitest.browser.config.ts): each browser instance provides its backend's name,
// and the page loads that backend's package, makes it active, and says which device runs it.
import * as tf from '@tensorflow/tfjs-core';
import { inject } from 'vitest';
// Through the entry point, which registers the platform before any other module of memhooks runs.
import { useBackend } from 'memhooks';

export type PageBackendName = 'webgl' | 'webgpu' | 'wasm';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which backend this browser instance runs its files on. */
    backend: PageBackendName;
    /** Where the page fetches the real upscaler's model.json from (a path on the vite server). */
    upscalerUrl: string;
  }
}

// Vite serves the repository root, so the wasm backend fetches its binaries from the installed package.
const WASM_DIST = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

/** The backend this page runs on, from its browser instance. */
export function pageBackendName(): PageBackendName {
  return inject('backend');
}

/**
 * Loads and activates this page's backend, once per page, and returns a line naming it with its device (the GL
 * renderer, the WebGPU adapter, or the wasm features), which it also logs so the test output says what ran.
 */
export async function usePageBackend(): Promise<string> {
  const name = pageBackendName();
  // The GPU backends are not among the packages useBackend imports by itself; registering them first is what it asks.
  if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'wasm') (await import('@tensorflow/tfjs-backend-wasm')).setWasmPaths(WASM_DIST);
  await useBackend(name);
  if (name === 'webgpu') await replaceLostWebgpuDevice();
  const line = `backend ${tf.getBackend()}: ${await describeDevice(name)}`;
  console.log(line);
  return line;
}

interface GlLike {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number; UNMASKED_VENDOR_WEBGL: number } | null;
  getParameter(pname: number): unknown;
  readonly RENDERER: number;
}

async function describeDevice(name: PageBackendName): Promise<string> {
  if (name === 'webgl') {
    // The context tfjs draws with, not a new one: its renderer is the one that computed.
    const gl = (tf.backend() as unknown as { gpgpu: { gl: GlLike } }).gpgpu.gl;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = debug === null ? gl.getParameter(gl.RENDERER) : gl.getParameter(debug.UNMASKED_RENDERER_WEBGL);
    return `WebGL${tf.env().getNumber('WEBGL_VERSION')} renderer "${String(renderer)}"`;
  }
  if (name === 'webgpu') {
    // tfjs keeps the info of the adapter it opened (its fields are private in the typings). A second
    // navigator.gpu.requestAdapter() here would cost the page its WebGPU device under SwiftShader ("A valid external
    // Instance reference no longer exists") a few seconds later.
    const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo ?? {};
    return `WebGPU adapter vendor "${info.vendor ?? '?'}", architecture "${info.architecture ?? '?'}"`;
  }
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return `wasm, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}, crossOriginIsolated ${isolated}`;
}

interface DeviceLoss {
  reason: string;
  message: string;
}
type WebgpuBackendLike = { device: { lost: Promise<DeviceLoss> } };
type BackendFactory = { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number };

/** The loss of each WebGPU device this page used, once it happened. */
const losses = new WeakMap<object, DeviceLoss>();

const LOSS_DELAY_MS = 1000;

function watch(backend: WebgpuBackendLike): void {
  void backend.device.lost.then((loss) => losses.set(backend, loss));
}

/**
 * The files of a backend share one page (vitest.browser.config.ts). A synchronous read on webgpu (dataSync, arraySync)
 * goes through an OffscreenCanvas, and under SwiftShader the page then loses its WebGPU device; every later file would
 * fail on it. So a file starts on a new device when an earlier one lost it, and says so loudly: whichever file ran
 * before this one read synchronously on webgpu, and should read with `await tensor.data()` instead.
 */
async function replaceLostWebgpuDevice(): Promise<void> {
  const backend = tf.backend() as unknown as WebgpuBackendLike;
  watch(backend);
  // A loss arrives a few hundred milliseconds after the read that caused it: give it a second to show.
  await Promise.race([backend.device.lost, new Promise((resolve) => setTimeout(resolve, LOSS_DELAY_MS))]);
  await Promise.resolve();
  const loss = losses.get(backend);
  if (loss === undefined) return;
  console.warn(
    `The page's WebGPU device was lost before this file ("${loss.message}"): an earlier file read a webgpu tensor synchronously. ` +
      'Starting this file on a new device.',
  );
  const registry = (tf.engine() as unknown as { registryFactory: Record<string, BackendFactory> }).registryFactory;
  const { factory, priority } = registry.webgpu!;
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', factory, priority);
  await useBackend('webgpu');
}
