import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemhooksError, RangeReadError, SafetensorsFile, SafetensorsSource, saveSafetensorsSync } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { RangeServer, type FaultKind } from '../helpers/rangeServer.js';

const bytesOf = (a: Float32Array | Int32Array | Uint16Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
/** The error `fn` rejects with; fails the test when it resolves. */
async function thrown(fn: () => Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, but the call succeeded');
}
const f32 = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 100 + i) * 7);

describe('safetensors from a URL, a File or a Blob', () => {
  let dir: string;
  let server: RangeServer;
  let local: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'memhooks-url-'));
    server = await RangeServer.start();
    local = join(dir, 'model.safetensors');
    // Written by the project's writer: F32, I32, F16 and an empty tensor, with metadata.
    saveSafetensorsSync(
      local,
      {
        'proj.weight': { dtype: 'F32', shape: [16, 8], data: bytesOf(f32(128, 1)) },
        'proj.bias': { dtype: 'F32', shape: [8], data: bytesOf(f32(8, 2)) },
        steps: { dtype: 'I32', shape: [3], data: bytesOf(Int32Array.from([7, -1, 123456])) },
        half: { dtype: 'F16', shape: [4], data: bytesOf(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001])) },
        empty: { dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
      },
      { format: 'pt', note: 'url test' },
    );
    server.serveDir(dir, '/m');
    url = server.url('/m/model.safetensors');
  });
  afterEach(() => {
    server.fault = undefined;
    server.requests.length = 0;
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the header with one ranged request and each tensor with one request of exactly its bytes, equal to the local reader', async () => {
    const file = SafetensorsFile.open(local);
    const source = await SafetensorsSource.openUrl(url);
    try {
      expect(server.requests).toEqual([{ path: '/m/model.safetensors', range: 'bytes=0-65535' }]);
      expect(source.keys()).toEqual(file.keys());
      expect(source.metadata()).toEqual(file.metadata());
      expect(source.fileLength).toBe(file.fileLength);
      for (const name of file.keys()) {
        server.requests.length = 0;
        const info = file.info(name);
        expect(source.info(name)).toEqual(info);
        expect(await source.readBytes(name)).toEqual(file.readBytes(name));
        // An empty tensor needs no request (a Range cannot ask for zero bytes).
        expect(server.requests).toEqual(info.byteLength === 0 ? [] : [{ path: '/m/model.safetensors', range: `bytes=${info.byteOffset}-${info.byteOffset + info.byteLength - 1}` }]);
      }
      const target = new Uint8Array(1024);
      const filled = await source.readInto('proj.bias', target);
      expect(filled.buffer).toBe(target.buffer);
      expect(filled).toEqual(file.readBytes('proj.bias'));
    } finally {
      source.close();
      file.close();
    }
    await expect(source.readBytes('proj.bias')).rejects.toThrow(/has been closed/);
  });

  for (const backend of BACKENDS) {
    it(`${backend}: read() gives the local reader's tensors bit for bit (F32, I32, F16 decoded)`, async () => {
      await useBackend(backend);
      const file = SafetensorsFile.open(local);
      const source = await SafetensorsSource.open(url);
      try {
        await expectNoLeaks(async () => {
          for (const name of ['proj.weight', 'steps', 'half']) {
            const [a, b] = [file.read(name), await source.read(name)];
            expect(b.dtype).toBe(a.dtype);
            expect(b.shape).toEqual(a.shape);
            const [x, y] = [await a.data(), await b.data()];
            expect(new Uint8Array(y.buffer, y.byteOffset, y.byteLength)).toEqual(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
            tf.dispose([a, b]);
          }
        });
      } finally {
        source.close();
        file.close();
        await useBackend('cpu');
      }
    });
  }

  it('reads a header longer than the first request with a second request of exactly the rest', async () => {
    const big = join(dir, 'big-header.safetensors');
    saveSafetensorsSync(big, { w: { dtype: 'F32', shape: [2], data: bytesOf(f32(2, 3)) } }, { long: 'x'.repeat(100_000) });
    server.files.set('/m/big-header.safetensors', new Uint8Array(readFileSync(big)));
    const source = await SafetensorsSource.openUrl(server.url('/m/big-header.safetensors'));
    const n = Number(new DataView(readFileSync(big).buffer).getBigUint64(0, true));
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=0-65535', `bytes=8-${8 + n - 1}`]);
    expect(source.metadata()['long']).toHaveLength(100_000);
    source.close();
  });

  it('reads a File and a Blob by slices, with the same bytes and the same header checks', async () => {
    const bytes = readFileSync(local);
    const file = SafetensorsFile.open(local);
    for (const blob of [new Blob([bytes]), new File([bytes], 'model.safetensors')]) {
      const source = await SafetensorsSource.open(blob);
      expect(source.location).toMatch(blob instanceof File ? /File "model.safetensors"/ : /Blob \(\d+ bytes\)/);
      for (const name of file.keys()) expect(await source.readBytes(name)).toEqual(file.readBytes(name));
      source.close();
    }
    file.close();
    const truncated = new File([bytes.subarray(0, bytes.byteLength - 4)], 'cut.safetensors');
    const error = await thrown(() => SafetensorsSource.openBlob(truncated));
    expect(error).toBeInstanceOf(MemhooksError);
    expect(error).toMatchObject({ code: 'INVALID_SAFETENSORS' });
    expect(error.message).toMatch(/File "cut.safetensors" is not a valid safetensors file: the tensors cover \d+ data bytes but the file holds \d+/);
  });

  it('applies the header checks against the total length the server declares (trailing bytes, truncated file)', async () => {
    const bytes = new Uint8Array(readFileSync(local));
    server.files.set('/m/tail.safetensors', Uint8Array.from([...bytes, 1, 2, 3]));
    server.files.set('/m/short.safetensors', bytes.subarray(0, bytes.byteLength - 3));
    server.files.set('/m/tiny.safetensors', Uint8Array.from([1, 2, 3]));
    for (const [name, why] of [
      ['tail', /the tensors cover \d+ data bytes but the file holds \d+ after the header/],
      ['short', /the tensors cover \d+ data bytes but the file holds \d+ after the header/],
      ['tiny', /it is 3 bytes long, shorter than the 8-byte header length/],
    ] as const) {
      const error = await thrown(() => SafetensorsSource.openUrl(server.url(`/m/${name}.safetensors`)));
      expect(error).toMatchObject({ code: 'INVALID_SAFETENSORS' });
      expect(error.message).toContain(`${server.url(`/m/${name}.safetensors`)} is not a valid safetensors file`);
      expect(error.message).toMatch(why);
    }
  });

  it('refuses a server that ignores Range, naming the URL and the option; allowFullDownload reads it whole once', async () => {
    server.fault = { kind: 'ignoreRange' };
    const error = await thrown(() => SafetensorsSource.openUrl(url));
    expect(error).toMatchObject({ code: 'RANGE_REQUESTS_UNSUPPORTED' });
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/200 instead of 206 Partial Content.*allowFullDownload: true/s);

    server.requests.length = 0;
    const file = SafetensorsFile.open(local);
    const source = await SafetensorsSource.openUrl(url, { allowFullDownload: true });
    for (const name of file.keys()) expect(await source.readBytes(name)).toEqual(file.readBytes(name));
    expect(server.requests).toHaveLength(1);
    source.close();
    file.close();
  });

  const tensorFaults: Array<[FaultKind, RegExp]> = [
    ['truncate', /broke off after \d+ of 512 bytes \(truncated\)|ended after \d+ of 512 bytes \(truncated\)/],
    ['wrongLength', /Content-Length 511 where 512 bytes were asked/],
    ['shortBody', /ended after 511 of 512 bytes \(truncated\)/],
    ['longBody', /longer than the 512 bytes asked for/],
    ['wrongRange', /Content-Range "bytes \d+-\d+\/\d+" instead of bytes \d+-\d+\/\d+/],
    ['wrongTotal', /the file is now \d+ bytes, not \d+/],
    ['noContentRange', /206 but no Content-Range header/],
    ['changedEtag', /changed on the server since it was opened/],
    ['notFound', /answered 404 Not Found to the request for tensor "proj.weight"/],
    ['ignoreRange', /with the whole file \(200 instead of 206 Partial Content\), though it honoured ranges before/],
  ];
  for (const [kind, why] of tensorFaults) {
    it(`a tensor request answered with ${kind} is an error naming the URL, the range and the tensor`, async () => {
      const source = await SafetensorsSource.openUrl(url);
      const info = source.info('proj.weight');
      server.fault = { kind, fromByte: 8 };
      const error = await thrown(() => source.readBytes('proj.weight'));
      source.close();
      expect(error).toBeInstanceOf(MemhooksError);
      expect(error).toMatchObject({ code: kind === 'ignoreRange' ? 'RANGE_REQUESTS_UNSUPPORTED' : 'RANGE_READ_FAILED' });
      expect(error.message).toContain(url);
      expect(error.message).toContain('tensor "proj.weight"');
      expect(error.message).toContain(`bytes ${info.byteOffset}-${info.byteOffset + info.byteLength - 1}`);
      expect(error.message).toMatch(why);
    });
  }

  it('a header request answered 404 (or an unreachable server) is a RangeReadError with the status and the URL', async () => {
    const missing = server.url('/m/missing.safetensors');
    const error = await thrown(() => SafetensorsSource.openUrl(missing));
    expect(error).toBeInstanceOf(RangeReadError);
    expect(error).toMatchObject({ code: 'RANGE_READ_FAILED', status: 404 });
    expect(error.message).toContain(`${missing} answered 404 Not Found to the request for the header (bytes 0-65535). Check the URL.`);
    const closed = await RangeServer.start();
    const gone = closed.url('/x.safetensors');
    await closed.close();
    const unreachable = await thrown(() => SafetensorsSource.openUrl(gone));
    expect(unreachable).toMatchObject({ code: 'RANGE_READ_FAILED' });
    expect(unreachable.message).toContain(`Could not fetch the header from ${gone}`);
  });

  it('refuses what is not an http(s) URL, a File or a Blob', async () => {
    expect(await thrown(() => SafetensorsSource.open('file:///etc/passwd'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not an http\(s\) URL/) });
    expect(await thrown(() => SafetensorsSource.open('model.safetensors'))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/is not a URL/) });
    expect(await thrown(() => SafetensorsSource.open(42 as unknown as string))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
