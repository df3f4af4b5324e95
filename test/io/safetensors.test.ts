import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemhooksError, SafetensorsFile, saveSafetensors, saveSafetensorsSync } from '../../src/index.js';
import { writeFileAtomicSync } from '../../src/io/atomicWrite.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

const bytesOf = (a: Float32Array | Int32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file whose header is exactly `header` (a JSON string or object) followed by `data`. */
function rawFile(header: string | object, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

describe('safetensors', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'memhooks-st-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (bytes: Uint8Array) => {
    const p = join(dir, 'f.safetensors');
    writeFileSync(p, bytes);
    return SafetensorsFile.open(p);
  };
  const refused = (bytes: Uint8Array, pattern: RegExp) => {
    let error: unknown;
    try {
      open(bytes).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MemhooksError);
    expect((error as MemhooksError).code).toBe('INVALID_SAFETENSORS');
    expect((error as Error).message).toMatch(pattern);
  };

  it('round-trips every writable dtype byte for byte, with metadata, aligned and space-padded', () => {
    const p = join(dir, 'all.safetensors');
    const entries = {
      f32: { dtype: 'F32' as const, shape: [2, 3], data: bytesOf(new Float32Array([1, -2, 3.5, NaN, Infinity, -0])) },
      f16: { dtype: 'F16' as const, shape: [3], data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]) },
      bf16: { dtype: 'BF16' as const, shape: [1], data: new Uint8Array([0x80, 0x3f]) },
      e4: { dtype: 'F8_E4M3' as const, shape: [2], data: new Uint8Array([0x38, 0x7e]) },
      e5: { dtype: 'F8_E5M2' as const, shape: [2], data: new Uint8Array([0x3c, 0x7c]) },
      i32: { dtype: 'I32' as const, shape: [2], data: bytesOf(new Int32Array([-7, 2 ** 31 - 1])) },
      i64: { dtype: 'I64' as const, shape: [1], data: bytesOf(new Uint8Array(new BigInt64Array([-5n]).buffer)) },
      u8: { dtype: 'U8' as const, shape: [2, 1], data: new Uint8Array([0, 255]) },
      b: { dtype: 'BOOL' as const, shape: [2], data: new Uint8Array([1, 0]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Uint8Array(0) },
      scalar: { dtype: 'F32' as const, shape: [], data: bytesOf(new Float32Array([42])) },
    };
    saveSafetensorsSync(p, entries, { format: 'pt', __proto__x: 'y' });
    const raw = readFileSync(p);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(raw.subarray(8, 8 + n).toString().trimEnd()).toBe(raw.subarray(8, 8 + n).toString().replace(/ +$/, ''));
    const file = SafetensorsFile.open(p);
    try {
      expect(file.keys().sort()).toEqual(Object.keys(entries).sort());
      expect(file.metadata()).toEqual({ format: 'pt', __proto__x: 'y' });
      for (const [name, e] of Object.entries(entries)) {
        const info = file.info(name);
        expect(info.dtype).toBe(e.dtype);
        expect(info.shape).toEqual(e.shape);
        // Natural alignment, as the reference writer guarantees.
        expect(info.byteOffset % (e.dtype === 'I64' ? 8 : e.dtype === 'F32' || e.dtype === 'I32' ? 4 : 1)).toBe(0);
        expect([...file.readBytes(name)]).toEqual([...e.data]);
        expect([...raw.subarray(info.byteOffset, info.byteOffset + info.byteLength)]).toEqual([...e.data]);
      }
    } finally {
      file.close();
    }
    expect(readdirSync(dir)).toEqual(['all.safetensors']);
  });

  for (const backend of BACKENDS) {
    describe(backend, () => {
      beforeEach(() => useBackend(backend));
      afterAll(() => useBackend('cpu'));

      it('reads tensors decoded to tfjs dtypes exactly, without leaking', async () => {
        const p = join(dir, 't.safetensors');
        saveSafetensorsSync(p, {
          f16: { dtype: 'F16', shape: [4], data: new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c]) },
          bf16: { dtype: 'BF16', shape: [2], data: new Uint8Array([0x80, 0x3f, 0x49, 0x40]) },
          e4: { dtype: 'F8_E4M3', shape: [4], data: new Uint8Array([0x38, 0x7e, 0x01, 0xff]) },
          e5: { dtype: 'F8_E5M2', shape: [3], data: new Uint8Array([0x3c, 0x7c, 0x01]) },
          i64: { dtype: 'I64', shape: [2], data: bytesOf(new Uint8Array(new BigInt64Array([-5n, 2147483647n]).buffer)) },
          big: { dtype: 'I64', shape: [1], data: bytesOf(new Uint8Array(new BigInt64Array([2n ** 40n]).buffer)) },
          b: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
        });
        const file = SafetensorsFile.open(p);
        await expectNoLeaks(async () => {
          const read = async (n: string) => {
            const t = file.read(n);
            const v = [...(await t.data())];
            t.dispose();
            return v;
          };
          expect(await read('f16')).toEqual([1, -2, 2 ** -24, Infinity]);
          expect(await read('bf16')).toEqual([1, 3.140625]);
          const e4 = await read('e4');
          expect(e4.slice(0, 3)).toEqual([1, 448, 2 ** -9]);
          expect(e4[3]).toBeNaN();
          expect(await read('e5')).toEqual([1, Infinity, 2 ** -16]);
          expect(await read('i64')).toEqual([-5, 2147483647]);
          expect(() => file.read('big')).toThrow(/outside int32/);
          const b = file.read('b');
          expect(b.dtype).toBe('bool');
          b.dispose();
          file.close();
        });
        expect(() => file.read('f16')).toThrow(/has been closed/);
      });

      it('saves float32, int32 and bool tf.Tensors asynchronously', async () => {
        const p = join(dir, 'async.safetensors');
        const a = tf.tensor2d([[1, 2], [3, 4]]);
        const i = tf.tensor1d([5, -6], 'int32');
        await saveSafetensors(p, { a, i });
        const file = SafetensorsFile.open(p);
        const ra = file.read('a');
        expect(await ra.data()).toEqual(await a.data());
        expect(file.info('i')).toMatchObject({ dtype: 'I32', shape: [2] });
        tf.dispose([a, i, ra]);
        file.close();
      });
    });
  }

  it('accepts an empty file list, leading and trailing header whitespace, and zero-size tensors', () => {
    expect(open(rawFile('{}')).keys()).toEqual([]);
    const f = open(rawFile('  {"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}   ', new Uint8Array([9])));
    expect(f.keys()).toEqual(['a', 'b']);
    expect([...f.readBytes('b')]).toEqual([9]);
    f.close();
  });

  it('refuses every malformation the reference implementation refuses', () => {
    const one = (extra: object = {}) => ({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], ...extra } });
    const four = new Uint8Array(4);
    refused(new Uint8Array(5), /shorter than the 8-byte header length/);
    refused(rawFile('{}', new Uint8Array(0), 100_000_001n), /exceeds the 100000000-byte limit/);
    refused(rawFile('{}', new Uint8Array(0), 2n ** 64n - 1n), /exceeds/);
    refused(rawFile('{}', new Uint8Array(0), 3n), /runs past the end of the file/);
    refused(rawFile(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')), /JSON|UTF-8/);
    const badUtf8 = rawFile('{"\u0001"}');
    badUtf8[10] = 0xff;
    refused(badUtf8, /not valid UTF-8/);
    refused(rawFile('{"a":'), /not valid JSON/);
    refused(rawFile('[]'), /not a JSON object/);
    refused(rawFile('{"a":1,"a":2}'), /duplicate key "a"/);
    refused(rawFile('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four), /reserved name/);
    refused(rawFile({ __metadata__: { k: 1 } }), /__metadata__\["k"\] is not a string/);
    refused(rawFile({ __metadata__: [] }), /__metadata__ is not an object/);
    refused(rawFile(one({ dtype: 'F128' }), four), /unknown dtype "F128"/);
    refused(rawFile(one({ shape: [-1] }), four), /shape\[0\] is not a non-negative integer/);
    refused(rawFile(one({ shape: [1.5] }), four), /shape\[0\]/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[18446744073709551614],"data_offsets":[0,4]}}', four), /shape\[0\]/);
    refused(rawFile('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,4]}}', four), /too large/);
    refused(rawFile(one({ data_offsets: [0] }), four), /data_offsets \[begin, end\]/);
    refused(rawFile(one({ data_offsets: [4, 0] }), four), /ends \(0\) before it begins \(4\)/);
    refused(rawFile(one({ shape: [2] }), four), /spans 4 bytes/);
    refused(rawFile(one({ extra: 1 }), four), /unknown field "extra"/);
    refused(rawFile({ a: { dtype: 'F4', shape: [1], data_offsets: [0, 0] } }), /whole number of bytes/);
    // Gaps, overlaps (the aliasing attack), a start past 0, and truncated or padded data.
    refused(rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, new Uint8Array(2)), /starts at 1, expected 0/);
    const alias = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, { dtype: 'U8', shape: [4], data_offsets: [0, 4] }]));
    refused(rawFile(alias, four), /starts at 0, expected 4/);
    refused(rawFile(one(), new Uint8Array(3)), /runs past the end|cover 4 data bytes but the file holds 3/);
    refused(rawFile(one(), new Uint8Array(5)), /cover 4 data bytes but the file holds 5/);
  });

  it('reads only the requested span', () => {
    const p = join(dir, 'span.safetensors');
    const a = new Float32Array(1000).map((_, i) => i);
    saveSafetensorsSync(p, { a: { dtype: 'F32', shape: [1000], data: bytesOf(a) }, b: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) } });
    const file = SafetensorsFile.open(p);
    const target = new Uint8Array(10).fill(77);
    expect([...file.readInto('b', target)]).toEqual([1, 2, 3]);
    expect(target[3]).toBe(77);
    expect(() => file.readInto('a', target)).toThrow(/needs 4000/);
    expect(() => file.info('zzz')).toThrow(/no tensor named "zzz"/);
    file.close();
  });

  it('validates entries before writing anything', () => {
    const p = join(dir, 'x.safetensors');
    const ok = { dtype: 'F32' as const, shape: [1], data: new Uint8Array(4) };
    expect(() => saveSafetensorsSync(p, { ok, bad: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } })).toThrow(/8 bytes\) but 4 bytes of data/);
    expect(() => saveSafetensorsSync(p, { __metadata__: ok })).toThrow(/reserved/);
    expect(() => saveSafetensorsSync(p, { ok: { ...ok, dtype: 'F64' as never } })).toThrow(/use one of F32/);
    expect(() => saveSafetensorsSync(p, { ok }, { k: 3 as never })).toThrow(/not a string/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writeFileAtomicSync replaces the target, keeps its mode, and leaves nothing behind on failure', () => {
    const target = join(dir, 'a.bin');
    writeFileAtomicSync(target, 'one');
    writeFileAtomicSync(target, [new Uint8Array([1]), new Uint8Array([2, 3])], { fsync: false });
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    function* failing() {
      yield new Uint8Array([9]);
      throw new Error('producer died');
    }
    expect(() => writeFileAtomicSync(target, failing())).toThrow(/previous file \(if any\) is unchanged[\s\S]*producer died/);
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['a.bin']);
    expect(() => writeFileAtomicSync(join(dir, 'missing', 'x'), 'x')).toThrow(MemhooksError);
  });
});
