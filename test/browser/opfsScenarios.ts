// What test/browser/opfs.test.ts runs in a dedicated Worker (opfsWorker.ts) of a cross-origin isolated page: the
// disk tier on the Origin Private File System. Each scenario returns plain data (a Worker posts it back); the test
// asserts. Numerics on the cpu backend, bitwise against the same model without hooks. Every scenario removes what it
// wrote under ROOT.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { applyGroupOffloading, applySequentialOffload, dispatchModel, Linear, loadShardedCheckpoint, memory, opfsReady, saveShardedCheckpoint, Sequential, withParameterInit, type GroupOffloadingOptions } from 'memhooks';
import * as fs from '../../src/base/platform/fs.js';
import { writeFileAtomicSync } from '../../src/io/atomicWrite.js';
import { groupFileName } from '../../src/strategies/shared/groupFiles.js';
import { opfsRemove, opfsRewrite } from './opfsDirect.js';

export const ROOT = '/memhooks-test';

const build = (width = 32): Sequential => new Sequential([new Linear(16, width), new Linear(width, width), new Linear(width, width), new Linear(width, 8)]);
const model = (seed: number, width?: number): Sequential => withParameterInit({ seed }, () => build(width));

/** The output's bits; the output is disposed. */
function bits(t: tf.Tensor): number[] {
  const out = Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
  t.dispose();
  return out;
}

/** Runs `fn` on the cpu backend once the OPFS server has booted (opfsReady), with the tensors it leaked. */
async function onCpu<T>(fn: () => T | Promise<T>): Promise<T & { leaked: number }> {
  await tf.setBackend('cpu');
  await opfsReady();
  const before = tf.memory().numTensors;
  const result = await fn();
  return { ...result, leaked: tf.memory().numTensors - before };
}

const listing = (dir: string): string[] | null => (fs.existsSync(dir) ? fs.readdirSync(dir) : null);
const thrown = (fn: () => unknown): { code?: string; message: string } | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return { code: (e as { code?: string }).code, message: String((e as Error).message) };
  }
};

/** The sync file calls themselves: atomic writes, stat identity across rename, Node's error codes, statfs. */
function files() {
  const dir = `${ROOT}/files`;
  fs.mkdirSync(dir, { recursive: true });
  const data = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7) % 251);
  writeFileAtomicSync(`${dir}/a.bin`, data);
  const back = fs.readFileSync(`${dir}/a.bin`);
  const a = fs.statSync(`${dir}/a.bin`);
  fs.renameSync(`${dir}/a.bin`, `${dir}/b.bin`);
  const b = fs.statSync(`${dir}/b.bin`);
  const fd = fs.openSync(`${dir}/b.bin`, 'r');
  const part = new Uint8Array(10);
  const n = fs.readSync(fd, part, 0, 10, 1000);
  const fb = fs.fstatSync(fd);
  fs.closeSync(fd);
  // A write that fails half-way: neither the target nor the temporary file is visible.
  const failed = thrown(() =>
    writeFileAtomicSync(
      `${dir}/c.bin`,
      (function* () {
        yield data.subarray(0, 1000);
        throw new Error('the source failed');
      })(),
    ),
  );
  const statfs = fs.statfsSync(dir);
  const result = {
    same: back.length === data.length && back.every((v, i) => v === data[i]),
    identity: { size: a.size, sameIno: a.ino === b.ino && b.ino === fb.ino, ctimeMoved: b.ctimeMs > a.ctimeMs, mtime: a.mtimeMs === b.mtimeMs && b.mtimeMs === fb.mtimeMs, isFile: a.isFile() },
    read: { n, ok: part.every((v, i) => v === data[1000 + i]) },
    aExists: fs.existsSync(`${dir}/a.bin`),
    exclusive: thrown(() => fs.openSync(`${dir}/b.bin`, 'wx'))?.code,
    missing: thrown(() => fs.openSync(`${dir}/none.bin`, 'r'))?.code,
    failed: failed?.message.split('\n')[0],
    afterFailure: fs.readdirSync(dir),
    free: Number(statfs.bavail) * Number(statfs.bsize),
    dirIsDirectory: fs.statSync(dir).isDirectory(),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...result, removed: !fs.existsSync(dir) };
}

export type OffloadKind = 'group' | 'sequential' | 'device-map';

/** Applies `kind` with its files under OPFS, runs the model, removes it: outputs, files while applied and after. */
async function offload(args: { kind: OffloadKind; options?: GroupOffloadingOptions; idleFirst?: boolean }) {
  const dir = `${ROOT}/offload-${args.kind}`;
  const plain = model(1);
  const hooked = model(1);
  const x = tf.randomNormal([3, 16], 0, 1, 'float32', 5);
  const expected = bits(plain.forward(x) as tf.Tensor);
  const total = hooked.parameters().reduce((n, p) => n + p.byteLength, 0);
  const names = hooked.namedModules().map(([name]) => name).filter((n) => /^[^.]+$/.test(n) && n !== '');
  const handle =
    args.kind === 'group'
      ? applyGroupOffloading(hooked, { ...args.options, offloadToDiskPath: dir })
      : args.kind === 'sequential'
        ? applySequentialOffload(hooked, { offloadToDiskPath: dir })
        : dispatchModel(hooked, Object.fromEntries(names.map((n, i) => [n, i % 2 === 1 ? 'disk' : 'device'])), { offloadFolder: dir });
  // With a stream, the transfer worker started at apply: a Web Worker boots only while this thread is idle. Without
  // that idle time, two forwards in a row must not block on it (the second, whose groups the first staged, reads
  // them itself), and the ones after an idle moment use it.
  const idle = () => new Promise((resolve) => setTimeout(resolve, 500));
  const firstBits = args.idleFirst === false ? [0, 1].map(() => bits(hooked.forward(x) as tf.Tensor).join() === expected.join()).every(Boolean) : undefined;
  await idle();
  const footprint = hooked.memoryFootprint();
  const diskBytes = memory.stats().diskBytes;
  const storage = memory.stats().storage;
  const bitwise: boolean[] = [];
  if (firstBits !== undefined) bitwise.push(firstBits);
  while (bitwise.length < 3) bitwise.push(bits(hooked.forward(x) as tf.Tensor).join() === expected.join());
  const applied = listing(dir);
  handle.remove();
  const after = listing(dir);
  tf.dispose(x);
  plain.dispose();
  hooked.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return { bitwise, total, footprint, diskBytes, storage, applied, after };
}

/** withParameterInit({ tier: 'disk' }): the model is built straight into OPFS shards, and group offloading runs it from them. */
function initDisk() {
  const dir = `${ROOT}/init`;
  const plain = model(2);
  const onDisk = withParameterInit({ tier: 'disk', dir, seed: 2 }, () => build());
  const footprint = onDisk.memoryFootprint();
  const files = listing(dir);
  const x = tf.randomNormal([2, 16], 0, 1, 'float32', 6);
  const handle = applyGroupOffloading(onDisk, { offloadType: 'leaf_level' });
  const bitwise = bits(onDisk.forward(x) as tf.Tensor).join() === bits(plain.forward(x) as tf.Tensor).join();
  handle.remove();
  const result = { bitwise, footprint, total: plain.parameters().reduce((n, p) => n + p.byteLength, 0), files };
  tf.dispose(x);
  plain.dispose();
  onDisk.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Checksummed reuse: matching files are kept (same ino), a mismatching one rewritten; remove() deletes only its own. */
function reuse() {
  const first = `${ROOT}/reuse-a`;
  const shared = `${ROOT}/reuse-b`;
  const a = model(3);
  const b = model(3);
  const h1 = applyGroupOffloading(a, { offloadType: 'leaf_level', offloadToDiskPath: first });
  fs.mkdirSync(shared, { recursive: true });
  for (const name of fs.readdirSync(first)) writeFileAtomicSync(`${shared}/${name}`, fs.readFileSync(`${first}/${name}`));
  h1.remove();
  const inos = new Map(fs.readdirSync(shared).map((f) => [f, fs.statSync(`${shared}/${f}`).ino]));
  const head = b.namedParameters().find(([path]) => path === '3.weight')![1];
  const changed = tf.add(head.read(), 1);
  head.assign(changed);
  changed.dispose();
  const h2 = applyGroupOffloading(b, { offloadType: 'leaf_level', offloadToDiskPath: shared });
  const rewritten = fs.readdirSync(shared).filter((f) => f !== 'memhooks-offload-manifest.json' && fs.statSync(`${shared}/${f}`).ino !== inos.get(f));
  h2.remove();
  const kept = fs.readdirSync(shared);
  a.dispose();
  b.dispose();
  fs.rmSync(first, { recursive: true, force: true });
  fs.rmSync(shared, { recursive: true, force: true });
  return { rewritten, expected: [groupFileName('3')], kept, before: [...inos.keys()] };
}

/** A group file rewritten (same size) or deleted through the OPFS API behind the model's back is refused. */
async function changed(args: { useStream: boolean; how: 'rewrite' | 'delete' }) {
  const dir = `${ROOT}/changed-${args.useStream}-${args.how}`;
  const m = model(4);
  const x = tf.randomNormal([2, 16], 0, 1, 'float32', 7);
  const handle = applyGroupOffloading(m, { offloadType: 'leaf_level', useStream: args.useStream, offloadToDiskPath: dir });
  // The transfer worker (with a stream) boots while this thread is idle.
  await new Promise((resolve) => setTimeout(resolve, 500));
  (m.forward(x) as tf.Tensor).dispose();
  const file = `${dir}/${fs.readdirSync(dir).find((f) => f.startsWith('group_'))!}`;
  if (args.how === 'rewrite') await opfsRewrite(file);
  else await opfsRemove(file);
  const errors: Array<{ code?: string; message: string } | undefined> = [];
  for (let i = 0; i < 2; i++) errors.push(thrown(() => (m.forward(x) as tf.Tensor).dispose()));
  const removal = thrown(() => handle.remove());
  tf.dispose(x);
  m.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return { errors: errors.map((e) => e && { code: e.code, message: e.message.split('\n')[0] }), removal: removal?.code };
}

/** A write past the quota (the test lowers it by CDP first): rolled back, with the quota and the bytes named. */
function quota() {
  const dir = `${ROOT}/quota`;
  const m = model(5, 256);
  const x = tf.randomNormal([2, 16], 0, 1, 'float32', 8);
  const before = bits(m.forward(x) as tf.Tensor);
  const error = thrown(() => applyGroupOffloading(m, { offloadType: 'leaf_level', offloadToDiskPath: dir }));
  const after = bits(m.forward(x) as tf.Tensor);
  const result = {
    error: error && { code: error.code, message: error.message.split('\n')[0], full: error.message },
    unchanged: before.join() === after.join() && m.parameters().every((p) => p.isResident),
    total: m.parameters().reduce((n, p) => n + p.byteLength, 0),
    files: listing(dir),
  };
  tf.dispose(x);
  m.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

const onCpuSync =
  <A, R>(f: (args: A) => R | Promise<R>) =>
  (args: A) =>
    onCpu(() => f(args));

/** A sharded checkpoint saved into an OPFS folder and loaded back: the same bits. */
function checkpoints() {
  const dir = `${ROOT}/checkpoint`;
  const m = model(6);
  const saved = saveShardedCheckpoint(new Map(m.namedParameters().map(([name, p]) => [name, p.read()])), dir, { maxShardSize: '2KB' });
  const files = fs.readdirSync(dir).sort();
  const loaded = loadShardedCheckpoint(dir);
  const same = m.namedParameters().every(([name, p]) => bits(p.read().clone()).join() === bits(loaded.get(name)!).join());
  m.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  return { same, files, shards: saved.files.length, loaded: loaded.size };
}

export const SCENARIOS = {
  checkpoints: onCpuSync(checkpoints),
  files: onCpuSync(files),
  offload: onCpuSync(offload),
  initDisk: onCpuSync(initDisk),
  reuse: onCpuSync(reuse),
  changed: onCpuSync(changed),
  quota: onCpuSync(quota),
  refusal: () => ({ error: thrown(() => fs.mkdirSync(`${ROOT}/refused`, { recursive: true })), exists: fs.existsSync(ROOT) }),
} as const;
export type ScenarioName = keyof typeof SCENARIOS;
