import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../../base/errors.js';
import { describeValue } from '../../models/paths.js';
import { firstMismatch, ShippedCodes, type ShippedDtype } from '../../models/parameter/shipped.js';
import { checkOptionKeys } from '../../strategies/optionKeys.js';
import { loadedWeightArtifacts, type LoadedWeightSpec } from './executorInternals.js';

/** What the host holds of a wrapped GraphModel's weights while they are offloaded. */
export type GraphHostWeights = 'float32' | 'shipped';

/** Options of wrapGraphModel. */
export interface WrapGraphModelOptions {
  /**
   * `'float32'` (the default): an offloaded weight's host copy is its float32 values. `'shipped'`: a weight the
   * model's manifest ships quantized (uint8, uint16 or float16) keeps those codes on the host instead, a quarter
   * or a half of the float32 bytes; its device tensor is still the float32 values, decoded exactly as tfjs
   * decoded them at load.
   */
  hostWeights?: GraphHostWeights;
}

const HOST_WEIGHTS: readonly GraphHostWeights[] = ['float32', 'shipped'];

/** The options checked (unknown keys and values refused before anything changes), with their defaults. */
export function readWrapOptions(options: unknown): Required<WrapGraphModelOptions> {
  const o = checkOptionKeys('wrapGraphModel(model, options)', options, ['hostWeights']);
  const hostWeights = o['hostWeights'] ?? 'float32';
  if (!HOST_WEIGHTS.includes(hostWeights as GraphHostWeights)) {
    throw new InvalidArgumentError(
      `wrapGraphModel(model, { hostWeights }) got ${typeof hostWeights === 'string' ? `'${hostWeights}'` : describeValue(hostWeights)}; nothing was changed. Use 'float32' (the default: ` +
        `host copies hold float32 values) or 'shipped' (weights shipped quantized keep their codes on the host).`,
    );
  }
  return { hostWeights: hostWeights as GraphHostWeights };
}

const BYTES_PER_VALUE: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };
const SHIPPED: ReadonlySet<string> = new Set<ShippedDtype>(['uint8', 'uint16', 'float16']);

/**
 * The shipped codes of the float32 weights among `weights` that the model's manifest ships quantized, read back
 * from the artifacts the loaded model keeps (no download), each copied out (so a Parameter owns it alone) and
 * checked once: its codes must decode bitwise to the executor's tensor, else wrapping is refused naming the
 * weight (never a wrong result). Weights shipped as float32 are not in the map. Reads only; changes nothing.
 */
export function shippedCodesOf(model: object, weightMap: Record<string, tf.Tensor[]>, weights: readonly string[]): Map<string, ShippedCodes> {
  const artifacts = loadedWeightArtifacts(model);
  if (artifacts === undefined) {
    throw new InvalidArgumentError(
      `wrapGraphModel(model, { hostWeights: 'shipped' }): this GraphModel kept no shipped weight bytes (model.artifacts.weightData; a ` +
        `model loaded from a weight stream keeps none), so its codes cannot be read back; nothing was changed. Wrap it with ` +
        `hostWeights: 'float32' (the default), or load it with tf.loadGraphModel(url) without streamWeights.`,
    );
  }
  const wanted = new Set(weights);
  const bytes = new tf.io.CompositeArrayBuffer(artifacts.data);
  const out = new Map<string, ShippedCodes>();
  let offset = 0;
  for (const spec of artifacts.specs) {
    const length = byteLengthOf(spec, bytes, offset);
    const q = spec.quantization;
    if (q !== undefined && SHIPPED.has(q.dtype) && spec.dtype === 'float32' && wanted.has(spec.name)) {
      const buffer = bytes.slice(offset, offset + length);
      const codes = q.dtype === 'uint8' ? new Uint8Array(buffer) : new Uint16Array(buffer);
      const shipped = new ShippedCodes(q.dtype as ShippedDtype, codes, q.min ?? 0, q.scale ?? 1);
      assertDecodesTo(shipped, spec.name, weightMap[spec.name]![0]!);
      out.set(spec.name, shipped);
    }
    offset += length;
  }
  return out;
}

/** The weight's bytes in the shipped data (strings: a 4-byte length before each value, as tf.io writes them). */
function byteLengthOf(spec: LoadedWeightSpec, bytes: tf.io.CompositeArrayBuffer, offset: number): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization === undefined && spec.dtype === 'string') {
    let length = 0;
    for (let i = 0; i < size; i++) length += 4 + new Uint32Array(bytes.slice(offset + length, offset + length + 4))[0]!;
    return length;
  }
  const per = BYTES_PER_VALUE[spec.quantization?.dtype ?? spec.dtype];
  if (per === undefined) {
    throw new InvalidArgumentError(
      `wrapGraphModel(model, { hostWeights: 'shipped' }): weight "${spec.name}" is stored as ${spec.quantization?.dtype ?? spec.dtype}, whose ` +
        `size memhooks does not know, so the weights after it cannot be found; nothing was changed. Wrap with hostWeights: 'float32'.`,
    );
  }
  return size * per;
}

function assertDecodesTo(codes: ShippedCodes, name: string, tensor: tf.Tensor): void {
  const values = tensor.dataSync() as Float32Array;
  const at = firstMismatch(codes, values);
  if (at < 0) return;
  const decoded = codes.decode();
  throw new InvalidArgumentError(
    `wrapGraphModel(model, { hostWeights: 'shipped' }): the shipped ${codes.dtype} codes of weight "${name}" do not decode to the tensor ` +
      `the model holds (value ${at}: ${decoded[at]} decoded, ${values[at]} held), so its weights changed after loading (or the artifacts ` +
      `did); nothing was changed. Wrap with hostWeights: 'float32' (the default), or reload the model.`,
  );
}
