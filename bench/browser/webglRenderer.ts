/**
 * The WebGL version and renderer of the context tfjs draws with (not a new one: its renderer is the one that
 * computed), for the browser benchmarks' device lines. Call it once the webgl backend is active.
 */
import * as tf from '@tensorflow/tfjs-core';

interface GlLike {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(pname: number): unknown;
  readonly RENDERER: number;
}

/** E.g. `WebGL2 renderer "ANGLE (…SwiftShader…)"`. */
export function webglRenderer(): string {
  const gl = (tf.backend() as unknown as { gpgpu: { gl: GlLike } }).gpgpu.gl;
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = debug === null ? gl.getParameter(gl.RENDERER) : gl.getParameter(debug.UNMASKED_RENDERER_WEBGL);
  return `WebGL${tf.env().getNumber('WEBGL_VERSION')} renderer "${String(renderer)}"`;
}
