import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFile, saveSafetensorsSync, type SafetensorsEntry } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';

/**
 * Both directions against test/fixtures/safetensors/make_fixtures.py, an independent implementation of the
 * format (struct + numpy + torch). Its outputs are committed so that this test needs no Python:
 * - python_written.safetensors must load exactly as Python says (bytes and decoded values);
 * - memhooks_written.safetensors, which our writer produces byte for byte from MEMHOOKS_INPUT below, must
 *   be what Python read from it (memhooks_written.python_read.json).
 * To regenerate: MEMHOOKS_WRITE_FIXTURES=1 npx vitest run test/io/safetensorsCrossCheck.test.ts, then
 * `python make_fixtures.py read` (and `write` for the Python-written file).
 */
const FIXTURES = join(__dirname, '..', 'fixtures', 'safetensors');

type Expected = { dtype: string; shape: number[]; values: (number | string)[] };
const num = (v: number | string) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number));
const le = (a: Float32Array | Int32Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Our writer's input: the bytes are fixed here (not produced by our codecs), so Python judges the writer alone. */
const MEMHOOKS_INPUT: Record<string, SafetensorsEntry> = {
  'blocks.0.weight': { dtype: 'F32', shape: [2, 2], data: le(new Float32Array([1.5, -0.25, 3e38, -0])) },
  'blocks.10.weight': { dtype: 'F16', shape: [3], data: new Uint8Array([0x00, 0x3c, 0x55, 0x35, 0x00, 0xfc]) },
  'half.bf16': { dtype: 'BF16', shape: [2], data: new Uint8Array([0x49, 0x40, 0x80, 0xbf]) },
  e4m3: { dtype: 'F8_E4M3', shape: [4], data: new Uint8Array([0x38, 0x7e, 0x80, 0x01]) },
  e5m2: { dtype: 'F8_E5M2', shape: [4], data: new Uint8Array([0x3c, 0x7b, 0xfc, 0x01]) },
  ids: { dtype: 'I32', shape: [3], data: le(new Int32Array([-1, 0, 123456])) },
  steps: { dtype: 'I64', shape: [2], data: le(new BigInt64Array([-3n, 2n ** 40n])) },
  bytes: { dtype: 'U8', shape: [1, 3], data: new Uint8Array([0, 7, 255]) },
  mask: { dtype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) },
  empty: { dtype: 'F32', shape: [0], data: new Uint8Array(0) },
  'ünïcode': { dtype: 'U8', shape: [], data: new Uint8Array([9]) },
};
const MEMHOOKS_METADATA = { format: 'pt', note: 'written by memhooks' };

describe('safetensors cross-check against an independent Python implementation', () => {
  it('writes byte for byte the file Python read, and Python read what we meant', () => {
    const dir = mkdtempSync(join(tmpdir(), 'memhooks-xc-'));
    try {
      const ours = join(dir, 'memhooks_written.safetensors');
      saveSafetensorsSync(ours, MEMHOOKS_INPUT, MEMHOOKS_METADATA);
      const committed = join(FIXTURES, 'memhooks_written.safetensors');
      if (process.env['MEMHOOKS_WRITE_FIXTURES'] === '1') writeFileSync(committed, readFileSync(ours));
      expect(Buffer.compare(readFileSync(ours), readFileSync(committed))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const python = JSON.parse(readFileSync(join(FIXTURES, 'memhooks_written.python_read.json'), 'utf8'));
    expect(python.header_is_padded_with_spaces).toBe(true);
    expect(python.metadata).toEqual(MEMHOOKS_METADATA);
    expect(Object.keys(python.tensors).sort()).toEqual(Object.keys(MEMHOOKS_INPUT).sort());
    // Python decoded each tensor independently; our own reader must agree value for value.
    const file = SafetensorsFile.open(join(FIXTURES, 'memhooks_written.safetensors'));
    try {
      for (const [name, seen] of Object.entries(python.tensors as Record<string, Expected & { offset: number }>)) {
        expect(seen.dtype).toBe(MEMHOOKS_INPUT[name]!.dtype);
        expect(seen.shape).toEqual(MEMHOOKS_INPUT[name]!.shape);
        expect(file.info(name).byteOffset - file.info(file.keys()[0]!).byteOffset).toBe(seen.offset);
      }
    } finally {
      file.close();
    }
  });

  for (const backend of BACKENDS) {
    describe(backend, () => {
      afterAll(() => useBackend('cpu'));

      it('loads the Python-written file exactly (bytes and decoded values)', async () => {
        await useBackend(backend);
        const expected = JSON.parse(readFileSync(join(FIXTURES, 'python_written.expected.json'), 'utf8')) as {
          metadata: Record<string, string>;
          tensors: Record<string, Expected & { hex: string }>;
        };
        const file = SafetensorsFile.open(join(FIXTURES, 'python_written.safetensors'));
        await expectNoLeaks(async () => {
          try {
            expect({ ...file.metadata() }).toEqual(expected.metadata);
            expect(file.keys()).toEqual(Object.keys(expected.tensors));
            for (const [name, e] of Object.entries(expected.tensors)) {
              expect(file.info(name)).toMatchObject({ dtype: e.dtype, shape: e.shape });
              expect(Buffer.from(file.readBytes(name)).toString('hex')).toBe(e.hex);
              const t = file.read(name);
              expect(t.shape).toEqual(e.shape);
              const values = [...(await t.data())].map(Number);
              t.dispose();
              expect(values).toEqual(e.values.map(num));
            }
          } finally {
            file.close();
          }
        });
      });

      it('agrees with Python on every value of the memhooks-written file', async () => {
        await useBackend(backend);
        const python = JSON.parse(readFileSync(join(FIXTURES, 'memhooks_written.python_read.json'), 'utf8'));
        const file = SafetensorsFile.open(join(FIXTURES, 'memhooks_written.safetensors'));
        try {
          for (const [name, seen] of Object.entries(python.tensors as Record<string, Expected>)) {
            if (name === 'steps') {
              // 2^40 does not fit tfjs' int32: reading refuses instead of wrapping; the bytes still agree.
              expect(() => file.read(name)).toThrow(/outside int32/);
              expect([...new BigInt64Array(file.readBytes(name).buffer)].map(Number)).toEqual(seen.values);
              continue;
            }
            const t = file.read(name);
            const values = [...(await t.data())].map(Number);
            t.dispose();
            expect(values).toEqual(seen.values.map(num));
          }
        } finally {
          file.close();
        }
      });
    });
  }
});
