import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { Linear, loadRemoteCheckpoint, Module, module, SafetensorsSource, type Parameter } from 'memhooks';
import { expectNoLeaks } from '../helpers/leaks.js';
import { usePageBackend } from '../helpers/pageBackend.js';
import { pageNetWeights, pageTensors } from '../helpers/rangeServerFixtures.js';
import '../helpers/rangeServerContext.js';

@module({ name: 'UrlPageNet' })
class UrlPageNet extends Module {
  lin = new Linear(4, 6);
  head = new Linear(6, 3);
  forward(x: tf.Tensor): tf.Tensor {
    return this.head.forward(tf.relu(this.lin.forward(x)));
  }
}

const bits = (a: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, but the call succeeded');
}

/** A Linear weight's file values ([out, in]) in the parameter's layout ([in, out] where the backend keeps it so). */
function inLayoutOf(p: Parameter, file: Uint8Array, [out, inp]: readonly number[]): Float32Array {
  const values = new Float32Array(file.slice().buffer);
  if (p.shape[0] === out) return values;
  const t = new Float32Array(values.length);
  for (let o = 0; o < out!; o++) for (let i = 0; i < inp!; i++) t[i * out! + o] = values[o * inp! + i]!;
  return t;
}

/** A weight's values from its tier, read asynchronously (webgpu must not be read synchronously). */
async function valuesOf(p: Parameter): Promise<Float32Array> {
  return (p.isResident ? await p.storedTensor()!.data() : p.hostData()) as Float32Array;
}

describe('safetensors from a URL, a File or a Blob in the page', () => {
  let origin = '';
  beforeAll(async () => {
    await usePageBackend();
    origin = inject('rangeServerUrl');
  });

  it('reads a file on another origin by ranges (CORS), each tensor bit for bit, and decodes it on the page backend', async () => {
    const expected = pageTensors();
    const source = await SafetensorsSource.openUrl(`${origin}/single/model.safetensors`);
    try {
      expect(source.keys().sort()).toEqual(Object.keys(expected).sort());
      for (const [name, entry] of Object.entries(expected)) {
        expect(source.info(name).shape).toEqual(entry.shape);
        expect(await source.readBytes(name)).toEqual(entry.data);
      }
      await expectNoLeaks(async () => {
        const w = await source.read('proj.weight');
        expect(bits(await w.data())).toEqual(expected['proj.weight'].data);
        const half = await source.read('half');
        expect(Array.from(await half.data())).toEqual([1, -2, 65504, 2 ** -24]);
        tf.dispose([w, half]);
      });
    } finally {
      source.close();
    }
  });

  it('reads a File and a Blob by slices', async () => {
    const blob = await (await fetch(`${origin}/single/model.safetensors`)).blob();
    for (const input of [blob, new File([blob], 'model.safetensors')]) {
      const source = await SafetensorsSource.open(input);
      for (const [name, entry] of Object.entries(pageTensors())) expect(await source.readBytes(name)).toEqual(entry.data);
      source.close();
    }
  });

  it('refuses a server that ignores Range unless allowFullDownload, and says a 404 with the URL', async () => {
    const url = `${origin}/norange/model.safetensors`;
    const refused = await rejection(SafetensorsSource.openUrl(url));
    expect(refused).toMatchObject({ code: 'RANGE_REQUESTS_UNSUPPORTED' });
    expect(refused.message).toContain(url);
    const whole = await SafetensorsSource.openUrl(url, { allowFullDownload: true });
    expect(await whole.readBytes('proj.weight')).toEqual(pageTensors()['proj.weight'].data);
    whole.close();
    const missing = await rejection(SafetensorsSource.openUrl(`${origin}/single/missing.safetensors`));
    expect(missing).toMatchObject({ code: 'RANGE_READ_FAILED', status: 404 });
  });

  it('loads a sharded checkpoint from a folder URL, bit for bit', async () => {
    const weights = await expectNoLeaks(() => loadRemoteCheckpoint(`${origin}/net/`), { newTensors: 4 });
    for (const [name, entry] of Object.entries(pageNetWeights())) {
      const t = weights.get(name)!;
      expect(t.shape).toEqual(entry.shape);
      expect(bits(await t.data())).toEqual(entry.data);
    }
    tf.dispose([...weights.values()]);
  });

  it('fromPretrained(url, { deviceMap }) puts each weight on its tier (device, host), bit for bit, and runs', async () => {
    const file = pageNetWeights();
    const model = await UrlPageNet.fromPretrained(`${origin}/net/`, { deviceMap: { lin: 'device', head: 'host' } });
    try {
      expect([model.lin.weight.tier, model.head.weight.tier]).toEqual(['device', 'host']);
      for (const [layer, name] of [[model.lin, 'lin'], [model.head, 'head']] as const) {
        const w = file[`${name}.weight`];
        expect(bits(await valuesOf(layer.weight))).toEqual(bits(inLayoutOf(layer.weight, w.data, w.shape)));
        expect(bits(await valuesOf(layer.bias!))).toEqual(file[`${name}.bias`].data);
      }
      await expectNoLeaks(async () => {
        const x = tf.ones([2, 4]);
        const y = model.forward(x);
        expect(y.shape).toEqual([2, 3]);
        expect(Array.from(await y.data()).every(Number.isFinite)).toBe(true);
        tf.dispose([x, y]);
      });
    } finally {
      model.dispose();
    }
  });
});
