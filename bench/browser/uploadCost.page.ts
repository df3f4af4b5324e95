/**
 * The page side of `node bench/browser/uploadCost.mjs`: runs bench/uploadCost.ts's probes on the backend named in
 * the query (`?backend=webgl&rounds=7&size=512`) and leaves the result on `globalThis.__memhooksUploadBench` for the runner.
 */
import * as tf from '@tensorflow/tfjs-core';
import { measureUploadCost, measureUploadOverlap } from '../uploadCost.js';

interface PageGlobals {
  location: { search: string };
  document: { getElementById(id: string): { textContent: string } | null };
  __memhooksUploadBench?: unknown;
}
const page = globalThis as unknown as PageGlobals;

async function useBackend(name: string): Promise<string> {
  if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  else if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  else if (name === 'wasm') (await import('@tensorflow/tfjs-backend-wasm')).setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  if (!(await tf.setBackend(name))) throw new Error(`The ${name} backend did not start in this page.`);
  await tf.ready();
  if (name === 'webgl') {
    const gl = (tf.backend() as unknown as { gpgpu: { gl: { getParameter(p: number): unknown; getExtension(n: string): { UNMASKED_RENDERER_WEBGL: number } | null } } }).gpgpu.gl;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    return String(debug === null ? 'unknown renderer' : gl.getParameter(debug.UNMASKED_RENDERER_WEBGL));
  }
  if (name === 'webgpu') {
    // What tfjs kept of the adapter it opened: a second requestAdapter() costs the page its device under SwiftShader.
    const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo ?? {};
    return `adapter ${info.vendor ?? '?'} / ${info.architecture ?? '?'}`;
  }
  return `SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`;
}

async function main(): Promise<void> {
  const query = new URLSearchParams(page.location.search);
  const backend = query.get('backend') ?? 'webgl';
  const rounds = Number(query.get('rounds') ?? '7');
  const size = Number(query.get('size') ?? '512');
  const device = await useBackend(backend);
  const uploadMsPerMiB = measureUploadCost(rounds);
  const overlap = measureUploadOverlap(rounds, size);
  const result = { backend, device, rounds, size, uploadMsPerMiB, ...overlap };
  page.document.getElementById('out')!.textContent = JSON.stringify(result, null, 2);
  page.__memhooksUploadBench = result;
}

main().catch((error: unknown) => {
  page.__memhooksUploadBench = { error: String((error as Error)?.stack ?? error) };
});
