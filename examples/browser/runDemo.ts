/**
 * One run of the demo: the backend (webgl, else wasm), the model, the strategy and the device budget chosen in the
 * page, one untimed call (shaders compile, streams record their order), then one call measured three ways at once:
 * wall time, memory.track's peak, and memory.trace's device-bytes counter for the chart.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { memory, useBackend, wrapLayersModel, type Module, type StrategyHandle, type TraceDocument } from 'memhooks';
import { DiffusionPipeline } from 'memhooks/zoo';
import { demoStrategy, type DemoModelName } from './demoStrategies.js';

// The page is served from the repository root (examples/browser/vite.config.ts), so the wasm backend fetches its
// binaries from the installed package.
const WASM_DIST = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

export interface BackendInUse {
  name: string;
  /** The GL renderer, or the wasm features. */
  device: string;
  /** Why the page is not on the backend it asked for, if it is not. */
  fallback?: string;
}

interface GlLike {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(pname: number): unknown;
  readonly RENDERER: number;
}

/** webgl if this browser gives a WebGL2 context tfjs can compute with; wasm otherwise, saying why. */
export async function useDemoBackend(wanted: string): Promise<BackendInUse> {
  let fallback: string | undefined;
  if (wanted === 'webgl') {
    try {
      await import('@tensorflow/tfjs-backend-webgl');
      await useBackend('webgl');
      const gl = (tf.backend() as unknown as { gpgpu: { gl: GlLike } }).gpgpu.gl;
      const debug = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = debug === null ? gl.getParameter(gl.RENDERER) : gl.getParameter(debug.UNMASKED_RENDERER_WEBGL);
      return { name: 'webgl', device: `WebGL${tf.env().getNumber('WEBGL_VERSION')}, renderer "${String(renderer)}"` };
    } catch (error) {
      fallback = `webgl did not start (${(error as Error).message}); running on wasm`;
    }
  }
  (await import('@tensorflow/tfjs-backend-wasm')).setWasmPaths(WASM_DIST);
  await useBackend('wasm');
  const device = `wasm, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`;
  return fallback === undefined ? { name: 'wasm', device } : { name: 'wasm', device, fallback };
}

export interface DemoOptions {
  model: DemoModelName;
  strategy: string;
  /** Device budget in bytes (memory.setDeviceBudget), or none. */
  budgetBytes?: number;
  /** Euler steps of the pipeline. */
  steps: number;
  /** Side of the upscaler's input image, in pixels. */
  side: number;
  /** Where the upscaler's model.json is served. */
  upscalerUrl: string;
}

export interface DemoResult {
  /** The output image, values in [0, 1], [1, H, W, 3]; the caller disposes it. */
  image: tf.Tensor3D;
  /** The upscaler's input, values in [0, 1] (the pipeline has none). */
  input?: tf.Tensor3D;
  ms: number;
  /** memory.track's peak during the measured call, above what the device held before the model existed. */
  peakDeviceBytes: number;
  /** What the device held right after the call, its output read back and freed (weights left resident, pools). */
  heldAfterBytes: number;
  trace: TraceDocument;
  /** The model's weights in float32 bytes: a resident run's peak holds at least these. */
  weightBytes: number;
}

/** A smooth seeded picture (rings and gradients), so that the upscaled image shows something. Pixels 0–255. */
function pattern(side: number): tf.Tensor4D {
  return tf.tidy(() => {
    const r = tf.div(tf.range(0, side), side);
    const y = tf.tile(tf.reshape(r, [side, 1]), [1, side]);
    const x = tf.tile(tf.reshape(r, [1, side]), [side, 1]);
    const d = tf.sqrt(tf.add(tf.square(tf.sub(x, 0.5)), tf.square(tf.sub(y, 0.5))));
    const ring = tf.add(tf.mul(tf.sin(tf.mul(d, 28)), 0.5), 0.5);
    const image = tf.stack([ring, x, tf.mul(y, ring)], -1);
    return tf.expandDims(tf.mul(image, 255), 0) as tf.Tensor4D;
  });
}

/** Values of any range onto [0, 1] for display, [H, W, 3]. */
function toUnit(t: tf.Tensor, range?: [number, number]): tf.Tensor3D {
  return tf.tidy(() => {
    const [lo, hi] = range ?? [tf.min(t).dataSync()[0]!, tf.max(t).dataSync()[0]!];
    return tf.squeeze(tf.clipByValue(tf.div(tf.sub(t, lo), Math.max(hi - lo, 1e-6)), 0, 1), [0]) as tf.Tensor3D;
  });
}

interface Subject {
  call(): tf.Tensor;
  handles: StrategyHandle[];
  input?: tf.Tensor4D;
  dispose(): void;
  range?: [number, number];
  weightBytes: number;
}

const bytesOf = (modules: readonly Module[]): number => modules.reduce((n, m) => n + m.parameters().reduce((k, p) => k + p.byteLength, 0), 0);

async function subjectFor(o: DemoOptions): Promise<Subject> {
  const strategy = demoStrategy(o.strategy);
  if (o.model === 'pipeline') {
    if (strategy.pipeline === undefined) throw new Error(`"${strategy.label}" is for the upscaler; pick another strategy for the pipeline.`);
    const p = DiffusionPipeline.create('small', { seed: 0 });
    try {
      strategy.pipeline(p);
    } catch (error) {
      p.dispose();
      throw error;
    }
    const weightBytes = bytesOf(Object.values(p.components));
    return { call: () => p.generate({ steps: o.steps, seed: 7 }), handles: [], weightBytes, dispose: () => p.dispose() };
  }
  if (strategy.upscaler === undefined) throw new Error(`"${strategy.label}" is not for the upscaler.`);
  const model = await tfl.loadLayersModel(o.upscalerUrl);
  const input = pattern(o.side);
  let handles: StrategyHandle[];
  const root = wrapLayersModel(model);
  const weightBytes = bytesOf([root]);
  try {
    handles = strategy.upscaler(root);
  } catch (error) {
    model.dispose();
    input.dispose();
    throw error;
  }
  return {
    call: () => model.predict(input) as tf.Tensor,
    handles,
    input,
    weightBytes,
    range: [0, 255],
    dispose: () => {
      model.dispose();
      input.dispose();
    },
  };
}

/** Runs the chosen model under the chosen strategy and budget; every strategy and the budget are removed at the end. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const before = memory.stats().deviceBytes;
  let subject: Subject | undefined;
  try {
    subject = await subjectFor(o);
    const s = subject;
    // The budget governs the run, from here: the model is made as an app makes it, then the strategy moves what it
    // offloads to the host, and every onload after that is checked against the budget before it allocates.
    memory.setDeviceBudget(o.budgetBytes);
    // Untimed: webgl compiles its shaders, streams record their order, the budget refuses here if it must.
    tf.dispose(s.call());
    let output: tf.Tensor | undefined;
    let peak = 0;
    let ms = 0;
    const trace = memory.trace(() => {
      const t0 = performance.now();
      const { result, peakDeviceBytes } = memory.track(() => s.call());
      result.dataSync();
      ms = performance.now() - t0;
      output = result;
      peak = peakDeviceBytes;
    });
    // Read back to the host, then freed: what the device holds now is what the strategy leaves there between calls.
    const values = output!.dataSync();
    const shape = output!.shape;
    output!.dispose();
    const heldAfterBytes = memory.stats().deviceBytes - before;
    const image = tf.tidy(() => toUnit(tf.tensor(values, shape), s.range));
    const input = s.input === undefined ? undefined : toUnit(s.input, s.range);
    return { image, ...(input === undefined ? {} : { input }), ms, peakDeviceBytes: Math.max(0, peak - before), heldAfterBytes, trace, weightBytes: s.weightBytes };
  } finally {
    // The budget first: removing an offloading strategy onloads every weight again, which the budget would refuse.
    memory.setDeviceBudget(undefined);
    for (const h of (subject?.handles ?? []).reverse()) h.remove();
    subject?.dispose();
  }
}
