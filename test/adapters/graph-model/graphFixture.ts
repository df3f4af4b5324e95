import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { afterEach } from 'vitest';
import { unwrapGraphModel } from '../../../src/index.js';

/**
 * A small real GraphModel, written as a converter model.json by hand and loaded by tfjs-converter itself
 * (tf.io.fromMemory → tf.loadGraphModel): convolutions, a depthwise convolution, a residual add, a mean, a
 * matmul head, under TensorFlow name scopes. `net/stem` is not contiguous in execution order: its `scale`
 * weight is read by `net/stem/Mul`, which runs after `net/block1`.
 */
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const FLOAT = { type: 'DT_FLOAT' };
const ints = (xs: number[]) => ({ list: { i: xs.map(String) } });

function constNode(name: string, shape: number[], dtype: 'DT_FLOAT' | 'DT_INT32' = 'DT_FLOAT'): NodeDef {
  return {
    name,
    op: 'Const',
    attr: { value: { tensor: { dtype, tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } }, dtype: { type: dtype } },
  };
}

function conv(name: string, x: string, w: string, op = 'Conv2D'): NodeDef {
  return { name, op, input: [x, w], attr: { T: FLOAT, strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) } };
}

const unary = (name: string, op: string, x: string): NodeDef => ({ name, op, input: [x], attr: { T: FLOAT } });
const binary = (name: string, op: string, a: string, b: string): NodeDef => ({ name, op, input: [a, b], attr: { T: FLOAT, data_format: { s: b64('NHWC') } } });

/** Float weights: name → shape. */
export const FIXTURE_WEIGHTS: Record<string, number[]> = {
  'net/stem/kernel': [3, 3, 3, 4],
  'net/stem/bias': [4],
  'net/stem/scale': [4],
  'net/block1/conv/kernel': [3, 3, 4, 4],
  'net/block1/conv/bias': [4],
  'net/block2/dw/depthwise_kernel': [3, 3, 4, 1],
  'net/block2/pw/kernel': [1, 1, 4, 8],
  'net/block2/pw/bias': [8],
  'net/head/kernel': [8, 5],
  'net/head/bias': [5],
};

const NODES: NodeDef[] = [
  { name: 'x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } } },
  ...Object.entries(FIXTURE_WEIGHTS).map(([name, shape]) => constNode(name, shape)),
  constNode('net/pool/axes', [2], 'DT_INT32'),
  conv('net/stem/Conv2D', 'x', 'net/stem/kernel'),
  binary('net/stem/BiasAdd', 'BiasAdd', 'net/stem/Conv2D', 'net/stem/bias'),
  unary('net/stem/Relu', 'Relu', 'net/stem/BiasAdd'),
  conv('net/block1/conv/Conv2D', 'net/stem/Relu', 'net/block1/conv/kernel'),
  binary('net/block1/conv/BiasAdd', 'BiasAdd', 'net/block1/conv/Conv2D', 'net/block1/conv/bias'),
  unary('net/block1/Relu', 'Relu', 'net/block1/conv/BiasAdd'),
  binary('net/block1/add', 'AddV2', 'net/stem/Relu', 'net/block1/Relu'),
  binary('net/stem/Mul', 'Mul', 'net/block1/add', 'net/stem/scale'),
  conv('net/block2/dw/depthwise', 'net/stem/Mul', 'net/block2/dw/depthwise_kernel', 'DepthwiseConv2dNative'),
  conv('net/block2/pw/Conv2D', 'net/block2/dw/depthwise', 'net/block2/pw/kernel'),
  binary('net/block2/pw/BiasAdd', 'BiasAdd', 'net/block2/pw/Conv2D', 'net/block2/pw/bias'),
  unary('net/block2/Relu6', 'Relu6', 'net/block2/pw/BiasAdd'),
  { name: 'net/pool/Mean', op: 'Mean', input: ['net/block2/Relu6', 'net/pool/axes'], attr: { T: FLOAT, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
  { name: 'net/head/MatMul', op: 'MatMul', input: ['net/pool/Mean', 'net/head/kernel'], attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
  binary('net/head/BiasAdd', 'BiasAdd', 'net/head/MatMul', 'net/head/bias'),
  unary('net/head/Softmax', 'Softmax', 'net/head/BiasAdd'),
];

/** Deterministic values in [-0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function loadFixtureGraphModel(): Promise<GraphModel> {
  return loadGraph(NODES, FIXTURE_WEIGHTS, { 'net/pool/axes': [1, 2] });
}

/** Loads a hand-written graph: float weights get deterministic values, int32 ones the values given. */
export async function loadGraph(nodes: NodeDef[], floats: Record<string, number[]>, ints32: Record<string, number[]>): Promise<GraphModel> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: ArrayBuffer[] = [];
  let seed = 1;
  for (const [name, shape] of Object.entries(floats)) {
    specs.push({ name, shape, dtype: 'float32' });
    chunks.push(values(shape.reduce((a, b) => a * b, 1), seed++).buffer as ArrayBuffer);
  }
  for (const [name, data] of Object.entries(ints32)) {
    specs.push({ name, shape: data.length === 1 ? [] : [data.length], dtype: 'int32' });
    chunks.push(new Int32Array(data).buffer);
  }
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    weightData.set(new Uint8Array(c), offset);
    offset += c.byteLength;
  }
  const artifacts: tf.io.ModelArtifacts = {
    format: 'graph-model',
    generatedBy: 'memhooks test fixture',
    convertedBy: 'hand',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    weightSpecs: specs,
    weightData: weightData.buffer,
  };
  return loadGraphModel(tf.io.fromMemory(artifacts));
}

/**
 * `a/Split` (scope a) makes two outputs that scope b reads: by two ops (`b/Mul0` reads `:0`, `b/Mul1` reads `:1`),
 * or, with `oneReader`, by one op (`b/Sub` reads both), which no segment of b alone can be fed.
 */
export function loadSplitGraphModel(oneReader: boolean): Promise<GraphModel> {
  const FLOAT32 = { T: FLOAT };
  const nodes: NodeDef[] = [
    { name: 'x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
    constNode('a/w', [4, 4]),
    constNode('a/split_dim', [], 'DT_INT32'),
    constNode('b/w0', [2]),
    constNode('b/w1', [2]),
    { name: 'a/MatMul', op: 'MatMul', input: ['x', 'a/w'], attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'a/Split', op: 'Split', input: ['a/split_dim', 'a/MatMul'], attr: { T: FLOAT, num_split: { i: '2' } } },
    ...(oneReader
      ? [
          { name: 'b/Sub', op: 'Sub', input: ['a/Split', 'a/Split:1'], attr: FLOAT32 },
          { name: 'b/Mul0', op: 'Mul', input: ['b/Sub', 'b/w0'], attr: FLOAT32 },
          { name: 'b/Add', op: 'AddV2', input: ['b/Mul0', 'b/w1'], attr: FLOAT32 },
        ]
      : [
          { name: 'b/Mul0', op: 'Mul', input: ['a/Split', 'b/w0'], attr: FLOAT32 },
          { name: 'b/Mul1', op: 'Mul', input: ['a/Split:1', 'b/w1'], attr: FLOAT32 },
          { name: 'b/Add', op: 'AddV2', input: ['b/Mul0', 'b/Mul1'], attr: FLOAT32 },
        ]),
  ];
  return loadGraph(nodes, { 'a/w': [4, 4], 'b/w0': [2], 'b/w1': [2] }, { 'a/split_dim': [1] });
}

/** A deterministic input batch for the fixture. */
export function fixtureInput(batch = 2, seed = 99): tf.Tensor4D {
  return tf.tensor4d(values(batch * 8 * 8 * 3, seed), [batch, 8, 8, 3]);
}

/**
 * Models a suite loads, unwrapped and disposed after each test: `track(await loadX())` returns the model and
 * registers it. Call it inside a describe block (it registers the afterEach there).
 */
export function trackGraphModels(): <M extends GraphModel>(model: M) => M {
  const models: GraphModel[] = [];
  afterEach(() => {
    for (const m of models.splice(0)) {
      unwrapGraphModel(m);
      m.dispose();
    }
  });
  return (model) => {
    models.push(model);
    return model;
  };
}
