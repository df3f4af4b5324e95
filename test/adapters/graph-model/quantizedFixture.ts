import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { FIXTURE_WEIGHTS, loadFixtureGraphModel } from './graphFixture.js';

/**
 * The fixture graph of graphFixture.ts with a hand-made quantized manifest, loaded by tfjs-converter itself
 * (tf.io.fromMemory → loadGraphModel), so that tfjs dequantizes it at load as it does a converted model:
 * weights shipped as uint8, uint16 and float16 codes, one shipped as float32, and the int32 axes. The weight
 * bytes come in two shards split inside a weight, as sharded models do.
 */
export const QUANTIZATION: Record<string, 'uint8' | 'uint16' | 'float16' | undefined> = {
  'net/stem/kernel': 'uint8',
  'net/stem/bias': 'float16',
  'net/stem/scale': undefined,
  'net/block1/conv/kernel': 'uint16',
  'net/block1/conv/bias': 'uint8',
  'net/block2/dw/depthwise_kernel': 'float16',
  'net/block2/pw/kernel': 'uint8',
  'net/block2/pw/bias': 'uint16',
  'net/head/kernel': 'float16',
  'net/head/bias': 'uint8',
};

const BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** Codes of a weight: uint8/uint16 anywhere in range; float16 finite halves of magnitude 2^-6 to 1 (no NaN, no inf). */
function codes(dtype: 'uint8' | 'uint16' | 'float16', n: number, seed: number): Uint8Array | Uint16Array {
  const next = lcg(seed);
  if (dtype === 'uint8') return Uint8Array.from({ length: n }, () => next() >>> 24);
  if (dtype === 'uint16') return Uint16Array.from({ length: n }, () => next() >>> 16);
  return Uint16Array.from({ length: n }, () => {
    const r = next();
    return ((r >>> 31) << 15) | ((9 + ((r >>> 16) % 6)) << 10) | (r & 0x3ff);
  });
}

/** Bytes the weights take as shipped, and as float32 once loaded. */
export interface FixtureBytes {
  shipped: number;
  float32: number;
  /** Shipped bytes of the quantized weights only, and their float32 bytes. */
  quantizedShipped: number;
  quantizedFloat32: number;
}

export async function loadQuantizedGraphModel(): Promise<{ model: GraphModel; bytes: FixtureBytes }> {
  const plain = await loadFixtureGraphModel();
  const topology = (plain as unknown as { artifacts: tf.io.ModelArtifacts }).artifacts.modelTopology;
  plain.dispose();
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const bytes: FixtureBytes = { shipped: 0, float32: 0, quantizedShipped: 0, quantizedFloat32: 0 };
  let seed = 7;
  for (const [name, shape] of Object.entries(FIXTURE_WEIGHTS)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const q = QUANTIZATION[name];
    if (q === undefined) {
      const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i + seed) / 2);
      specs.push({ name, shape, dtype: 'float32' });
      chunks.push(new Uint8Array(values.buffer));
    } else {
      const c = codes(q, n, seed);
      // An affine range that needs double precision: tfjs computes code * scale + min in doubles.
      const quantization = q === 'float16' ? { dtype: q } : { dtype: q, min: -0.4321, scale: 0.9 / (q === 'uint8' ? 255 : 65535) };
      specs.push({ name, shape, dtype: 'float32', quantization });
      chunks.push(new Uint8Array(c.buffer));
      bytes.quantizedShipped += n * BYTES[q];
      bytes.quantizedFloat32 += n * 4;
    }
    bytes.shipped += n * (q === undefined ? 4 : BYTES[q]);
    bytes.float32 += n * 4;
    seed += 3;
  }
  specs.push({ name: 'net/pool/axes', shape: [2], dtype: 'int32' });
  chunks.push(new Uint8Array(new Int32Array([1, 2]).buffer));
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  // Two shards, cut at an odd byte (inside a weight's codes).
  const cut = 301;
  const weightData = [all.slice(0, cut).buffer, all.slice(cut).buffer];
  const model = await loadGraphModel(tf.io.fromMemory({ format: 'graph-model', modelTopology: topology, weightSpecs: specs, weightData }));
  return { model, bytes };
}

/** The artifacts the loaded model keeps (tfjs-converter's private `artifacts`), for tests that tamper with them. */
export function keptArtifacts(model: GraphModel): tf.io.ModelArtifacts {
  return (model as unknown as { artifacts: tf.io.ModelArtifacts }).artifacts;
}
