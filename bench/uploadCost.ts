import * as tf from '@tensorflow/tfjs-core';

// This file also runs in a page (bench/browser/): framework.ts, which writes the results files, is Node's only.
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The weight matrix both probes upload: [1024, 2048] float32, 8 MiB, values that no kernel can skip. */
const ROWS = 1024;
const COLS = 2048;
const MIB = (ROWS * COLS * 4) / 2 ** 20;
function weightValues(): Float32Array {
  return new Float32Array(ROWS * COLS).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
}

/**
 * The serial cost of moving weights onto the active backend, in ms per MiB: a [1024, 2048] float32 matrix
 * (8 MiB) is uploaded and used once by a one-row matmul, against the same matmul on a matrix already on
 * the device and used before. On wasm this is the copy into the heap plus XNNPACK's packing of the new
 * weight at its first use; on cpu tf.tensor adopts the array, so it is near zero. On webgl it is the
 * texImage2D of the values into a texture plus the shader that packs them into the layout the matmul reads
 * (both at the first use: the backends upload lazily); on webgpu the buffer write.
 */
export function measureUploadCost(rounds: number): number {
  const rows = ROWS;
  const cols = COLS;
  const data = weightValues();
  const x = tf.ones([1, rows]);
  const resident = tf.tensor2d(data, [rows, cols]);
  // Disposed: a leftover would count in the peaks measured after this (bench/peaks.ts).
  tf.tidy(() => void tf.matMul(x, resident).dataSync());
  const fresh: number[] = [];
  const warm: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    let t0 = performance.now();
    const w = tf.tensor2d(data, [rows, cols]);
    const y = tf.matMul(x, w);
    y.dataSync();
    const tFresh = performance.now() - t0;
    tf.dispose([w, y]);
    t0 = performance.now();
    const z = tf.matMul(x, resident);
    z.dataSync();
    const tWarm = performance.now() - t0;
    z.dispose();
    if (r > 0) {
      fresh.push(tFresh);
      warm.push(tWarm);
    }
  }
  tf.dispose([x, resident]);
  return Math.max(0, median(fresh) - median(warm)) / MIB;
}

/** Whether an upload started early runs beside the compute queued before it (measureUploadOverlap). */
export interface UploadOverlap {
  /** The compute alone: a [size, size] matmul, read back. */
  computeMs: number;
  /** The upload alone: the 8 MiB weight uploaded and used once by a one-row matmul, read back. */
  uploadMs: number;
  /** The compute, read back, then the upload: what a late onload costs. */
  serialMs: number;
  /** The upload issued while the compute is still queued, both read back at the end: an early onload. */
  earlyMs: number;
  /** (serial − early) / min(compute, upload), clamped to [0, 1]: 0 = the upload adds in full, 1 = fully hidden. */
  overlap: number;
}

/**
 * Does an early upload overlap compute on the active backend? A [size, size] matmul is queued, then, before
 * its result is read, the 8 MiB weight is uploaded and used (early), against the same work with the matmul
 * read back first (serial). On the synchronous backends (cpu, wasm) every kernel ends before the next call,
 * so early equals serial; on webgl and webgpu kernels are queued to the GPU, and JavaScript goes on to the
 * upload while they run. Medians of `rounds` interleaved rounds after a warm-up.
 */
export function measureUploadOverlap(rounds: number, size = 1024): UploadOverlap {
  const data = weightValues();
  const x = tf.ones([1, ROWS]);
  const a = tf.randomUniform([size, size], -1, 1, 'float32', 11);
  const read = (...ts: tf.Tensor[]): void => ts.forEach((t) => void t.dataSync());
  const compute = (): tf.Tensor => tf.matMul(a, a);
  const upload = (): { w: tf.Tensor; y: tf.Tensor } => {
    const w = tf.tensor2d(data, [ROWS, COLS]);
    return { w, y: tf.matMul(x, w) };
  };
  const timed = (run: () => tf.Tensor[]): number => {
    const t0 = performance.now();
    const made = run();
    const ms = performance.now() - t0;
    tf.dispose(made);
    return ms;
  };
  const variants = {
    computeMs: () => {
      const c = compute();
      read(c);
      return [c];
    },
    uploadMs: () => {
      const { w, y } = upload();
      read(y);
      return [w, y];
    },
    serialMs: () => {
      const c = compute();
      read(c);
      const { w, y } = upload();
      read(y);
      return [c, w, y];
    },
    earlyMs: () => {
      const c = compute();
      const { w, y } = upload();
      read(c, y);
      return [c, w, y];
    },
  };
  const names = Object.keys(variants) as Array<keyof typeof variants>;
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<keyof typeof variants, number[]>;
  a.dataSync();
  for (let r = 0; r < rounds + 1; r++) {
    // A rotating start, so that drift of the machine hits every variant alike; round 0 warms up.
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      const ms = timed(variants[name]);
      if (r > 0) samples[name].push(ms);
    }
  }
  tf.dispose([x, a]);
  const [computeMs, uploadMs, serialMs, earlyMs] = names.map((n) => median(samples[n])) as [number, number, number, number];
  const overlap = Math.min(1, Math.max(0, (serialMs - earlyMs) / Math.min(computeMs, uploadMs)));
  return { computeMs, uploadMs, serialMs, earlyMs, overlap };
}
