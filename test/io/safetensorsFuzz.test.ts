import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemhooksError, SafetensorsFile, type SafetensorsEntry } from '../../src/index.js';
import { encodeSafetensors } from '../../src/io/safetensors/write.js';
import { WRITABLE_DTYPES } from '../../src/io/safetensors/dtypes.js';
import { useBackend } from '../helpers/backends.js';
import { expectNoLeaks } from '../helpers/leaks.js';
import { useNodePlatformWith } from '../helpers/platform.js';
import { mulberry32 } from '../../src/runtime/random.js';

/** Every positioned read the reader makes, to prove that none reaches past the end of the file. */
const reads: { position: number; length: number }[] = [];
useNodePlatformWith({
  files: {
    readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null) => {
      reads.push({ position: position ?? -1, length });
      return fs.readSync(fd, buffer, offset, length, position);
    },
  },
});

const ITERATIONS = 10_000;
const SEED = 0x5afe7e45;

describe('safetensors reader under fuzzing', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = fs.mkdtempSync(join(tmpdir(), 'memhooks-fuzz-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`loads exactly what each of ${ITERATIONS} mutated files says, or throws a MemhooksError`, () => {
    const random = mulberry32(SEED);
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const path = join(dir, 'fuzz.safetensors');
    const tally = { accepted: 0, refused: 0, readRefused: 0, reads: 0 };
    expectNoLeaks(() => {
      for (let i = 0; i < ITERATIONS; i++) {
        const bytes = mutate(validFile(random, int, pick), int, pick);
        fs.writeFileSync(path, bytes);
        tally.reads += reads.length;
        reads.length = 0;
        let file: SafetensorsFile;
        try {
          file = SafetensorsFile.open(path);
        } catch (error) {
          if (!(error instanceof MemhooksError)) throw new Error(`case ${i}: a non-MemhooksError escaped: ${String(error)}`);
          tally.refused++;
          assertReadsInside(bytes.byteLength, i);
          continue;
        }
        tally.accepted++;
        try {
          checkAccepted(file, bytes, i, tally);
        } finally {
          file.close();
        }
        assertReadsInside(bytes.byteLength, i);
      }
    });
    // Both outcomes must be well exercised, or the fuzzer tests nothing.
    expect(tally.accepted).toBeGreaterThan(ITERATIONS / 20);
    expect(tally.refused).toBeGreaterThan(ITERATIONS / 2);
    // The read spy saw the reader's reads (at least the 8-byte prefix of every file).
    expect(tally.reads).toBeGreaterThan(ITERATIONS);
  }, 60_000);
});

function assertReadsInside(fileLength: number, i: number): void {
  for (const r of reads) {
    if (r.position < 0 || r.position + r.length > fileLength) throw new Error(`case ${i}: read [${r.position}, +${r.length}) outside a ${fileLength}-byte file`);
  }
}

/**
 * An accepted file must mean exactly what its bytes say: the tensors tile the data after the header with
 * no gap, overlap or tail, each span matches shape × dtype size, and each read returns those very bytes.
 */
function checkAccepted(file: SafetensorsFile, bytes: Uint8Array, i: number, tally: { readRefused: number }): void {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (names.length !== file.keys().length) throw new Error(`case ${i}: ${names.length} tensors in the header, ${file.keys().length} loaded`);
  let covered = 0;
  for (const name of names) {
    const h = header[name]!;
    const info = file.info(name);
    if (info.byteOffset !== 8 + n + h.data_offsets[0] || info.byteLength !== h.data_offsets[1] - h.data_offsets[0]) throw new Error(`case ${i}: ${name} span differs from its header`);
    if (JSON.stringify(info.shape) !== JSON.stringify(h.shape) || info.dtype !== h.dtype) throw new Error(`case ${i}: ${name} dtype/shape differ`);
    const got = file.readBytes(name);
    if (Buffer.compare(got, bytes.subarray(info.byteOffset, info.byteOffset + info.byteLength)) !== 0) throw new Error(`case ${i}: ${name} bytes differ`);
    covered += info.byteLength;
    try {
      file.read(name).dispose();
    } catch (error) {
      if (!(error instanceof MemhooksError)) throw new Error(`case ${i}: read(${name}) threw a non-MemhooksError: ${String(error)}`);
      tally.readRefused++;
    }
  }
  if (8 + n + covered !== bytes.byteLength) throw new Error(`case ${i}: accepted a file whose tensors do not cover it exactly`);
}

type Pick = <T>(xs: readonly T[]) => T;
const NAMES = ['w', 'blocks.1.w', 'blocks.10.w', 'a b', 'é', '', 'x'.repeat(40), 'constructor', 'toString'];
const DTYPES = [...WRITABLE_DTYPES, 'F64', 'I8', 'F4', 'C64'];

function validFile(random: () => number, int: (n: number) => number, pick: Pick): Uint8Array {
  const entries: Record<string, SafetensorsEntry> = {};
  const count = int(5);
  for (let k = 0; k < count; k++) {
    const dtype = pick(WRITABLE_DTYPES);
    const shape = Array.from({ length: int(4) }, () => int(4));
    const size = shape.reduce((a, d) => a * d, 1) * (dtype === 'F32' || dtype === 'I32' ? 4 : dtype === 'I64' ? 8 : dtype.startsWith('F8') || dtype === 'U8' || dtype === 'BOOL' ? 1 : 2);
    const data = new Uint8Array(size);
    for (let b = 0; b < size; b++) data[b] = dtype === 'I64' && b % 8 >= 4 ? 0 : int(256);
    entries[`${pick(NAMES)}${k}`] = { dtype, shape, data };
  }
  const metadata = random() < 0.3 ? { format: 'pt', k: pick(NAMES) } : undefined;
  return Buffer.concat(encodeSafetensors(entries, metadata, 'fuzz'));
}

/** One mutation of a valid file: byte-level damage, or a structural edit of the header JSON. */
function mutate(file: Uint8Array, int: (n: number) => number, pick: Pick): Uint8Array {
  const out = Uint8Array.from(file);
  const n = Number(new DataView(out.buffer).getBigUint64(0, true));
  switch (int(8)) {
    case 0: // flip bits, mostly in the header
      for (let k = 0, m = 1 + int(4); k < m; k++) out[int(Math.min(out.length, 8 + n + 4))]! ^= 1 << int(8);
      return out;
    case 1: // truncate
      return out.subarray(0, int(out.length + 1));
    case 2: // trailing bytes
      return Buffer.concat([out, new Uint8Array(1 + int(16)).fill(int(256))]);
    case 3: { // forged header length
      const forged = pick([0n, 1n, 7n, BigInt(n - 1), BigInt(n + 1), BigInt(out.length), 100_000_001n, 2n ** 63n, 2n ** 64n - 1n, BigInt(int(2 ** 31))]);
      new DataView(out.buffer).setBigUint64(0, forged < 0n ? 0n : forged, true);
      return out;
    }
    case 4: // valid file, header unchanged (must load)
      return out;
    default:
      return withHeader(out, n, editHeader(Buffer.from(out.subarray(8, 8 + n)).toString('utf8'), int, pick));
  }
}

function withHeader(file: Uint8Array, n: number, header: string): Uint8Array {
  const text = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + text.length + file.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(file.subarray(8 + n), 8 + text.length);
  return out;
}

function editHeader(text: string, int: (n: number) => number, pick: Pick): string {
  const header = JSON.parse(text) as Record<string, Record<string, unknown>>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const weird = pick<unknown>([-1, 0, 1, 3, 2 ** 53, 1.5, '2', null, [], {}, 2 ** 31, 1e300]);
  const name = names.length > 0 ? pick(names) : undefined;
  switch (int(9)) {
    case 0:
      if (name !== undefined) (header[name]!['shape'] as unknown[]).push(weird);
      break;
    case 1:
      if (name !== undefined) (header[name]!['data_offsets'] as unknown[])[int(2)] = typeof weird === 'number' ? weird : int(64);
      break;
    case 2:
      if (name !== undefined) header[name]!['dtype'] = pick(DTYPES);
      break;
    case 3:
      if (name !== undefined) delete header[name]![pick(['dtype', 'shape', 'data_offsets'])];
      break;
    case 4:
      header['__metadata__'] = pick<Record<string, unknown>>([{ a: 1 }, { a: 'b' }, { a: null }, { ['__proto__']: 'x' }]);
      break;
    case 5: // a raw-text edit: duplicate keys, prototype names, huge literals, deep nesting, garbage
      return pick([
        (t: string) => t.replace('{', '{"w0":{},'),
        (t: string) => (name === undefined ? t : t.replace(`"${name}"`, '"__proto__"')),
        (t: string) => t.replace(/\d+/, '18446744073709551614'),
        (t: string) => t.replace(/\d+/, '9007199254740993'),
        (t: string) => t.replace(/\d+/, '1e2'),
        (t: string) => '['.repeat(1 + int(40)) + t,
        (t: string) => t.slice(0, int(t.length)),
        (t: string) => `  \n${t}\t `,
        (t: string) => t.replace(/"/, '"\\ud800'),
      ])(text);
    case 6: // duplicate an entry under the same name text (a second key in the raw JSON)
      if (name !== undefined) return text.replace(/}\s*$/, `,${JSON.stringify(name)}:${JSON.stringify(header[name])}}`);
      break;
    case 7: // swap two entries' offsets
      if (names.length > 1) {
        const [a, b] = [header[names[0]!]!, header[names[1]!]!];
        [a['data_offsets'], b['data_offsets']] = [b['data_offsets'], a['data_offsets']];
      }
      break;
    default:
      if (name !== undefined) header[name]!['extra'] = weird;
  }
  return JSON.stringify(header);
}
