import { createHash, randomHex } from '../base/platform/system.js';
import * as fs from '../base/platform/fs.js';
import { join } from '../base/platform/path.js';
import { ERROR_CODES, InvalidArgumentError, MemhooksError } from '../base/errors.js';
import { writeFileAtomicSync } from '../io/atomicWrite.js';
import { decodeValues, SafetensorsFile } from '../io/safetensors/SafetensorsFile.js';
import { InitArena } from './initArena.js';
import { safetensorsSpan } from './parameter/span.js';
import { encodeSafetensorsLazily, type SafetensorsEntry } from '../io/safetensors/write.js';
import { emit } from '../runtime/events.js';
import { ledger } from '../runtime/ledger.js';
import type { HostArray } from './dtypes.js';
import { Parameter, type DiskRef } from './Parameter.js';

/** Written last, once every shard of a generation is in place: a folder without it holds no complete model. */
export const INIT_INDEX_NAME = 'memhooks-init.json';
const SHARD_NAME = /^weights-(\d{5})\.safetensors$/;
const FORMAT = 'memhooks-init';

/** What a reader checks before trusting a shard: the file as written (a replaced or edited file differs). */
interface Identity {
  size: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface Shard extends Identity {
  file: string;
  sha256: string;
}

/**
 * Checks the folder of withParameterInit({ tier: 'disk', dir }) before any weight is made: a path string,
 * a directory (created if missing) that this process may write. Returns it unchanged.
 */
export function prepareInitDir(dir: unknown): string {
  if (typeof dir !== 'string' || dir.trim() === '') {
    throw new InvalidArgumentError(`withParameterInit: tier 'disk' needs \`dir\`, a folder path for the weight files, got ${dir === undefined ? 'none' : JSON.stringify(dir)}.`);
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (cause) {
    throw new MemhooksError(ERROR_CODES.WRITE_FAILED, `withParameterInit: cannot write weight files in ${dir} (it must be a folder this process can create and write). Nothing was built. Pass another \`dir\`.`, { cause });
  }
  return dir;
}

/**
 * Writes the weights of one withParameterInit({ tier: 'disk' }) call as they are generated: each weight
 * joins the current shard buffer, and a full buffer (maxShardBytes) becomes `weights-0000i.safetensors`,
 * written atomically (temp file, fsync, rename), after which its weights move to the disk tier and their
 * host arrays are released. Host memory therefore holds at most one shard buffer (or one weight larger
 * than it), never the model. The index `memhooks-init.json` (sha256 and size of every shard, the seed) is
 * written last; it is removed first, so a folder holds an index only while a complete generation is there.
 */
export class InitShardWriter {
  /** Tells the shards of this generation from those of an earlier one in the same folder. */
  readonly generation = randomHex(8);
  private pending: Array<{ key: string; param: Parameter; data: Float32Array }> = [];
  private pendingBytes = 0;
  private readonly shards: Shard[] = [];
  private readonly created: Parameter[] = [];
  private readonly keys = new Map<Parameter, [file: string, key: string]>();
  private readonly arena: InitArena;

  constructor(
    readonly dir: string,
    readonly maxShardBytes: number,
    private readonly seed: number,
  ) {
    fs.rmSync(join(dir, INIT_INDEX_NAME), { force: true });
    this.arena = new InitArena(maxShardBytes);
  }

  /** A zeroed array for a new weight's values (from the arena: initArena.ts). */
  alloc(length: number): Float32Array {
    // place() would write the shard in progress before this weight joins it: written now, the arena starts over.
    if (this.arena.idle && this.pending.length > 0 && this.pendingBytes + length * 4 > this.maxShardBytes) this.flush();
    return this.arena.alloc(length);
  }

  /** A new weight: held in the shard buffer until its shard is written, then on the disk tier. */
  place(data: Float32Array, shape: number[]): Parameter {
    if (this.pending.length > 0 && this.pendingBytes + data.byteLength > this.maxShardBytes) this.flush();
    const param = new Parameter({ data, shape });
    this.arena.placed(data);
    this.created.push(param);
    this.pending.push({ key: `w${this.created.length - 1}`, param, data });
    this.pendingBytes += data.byteLength;
    if (this.pendingBytes >= this.maxShardBytes) this.flush();
    return param;
  }

  /** Writes the last shard, the index (with parameter paths when `built` is a module tree), and drops older shards. */
  finish(built: unknown): void {
    this.flush();
    const weights: Record<string, [string, string]> = {};
    const named = (built as { namedParameters?: () => Array<[string, Parameter]> } | null)?.namedParameters;
    if (typeof named === 'function') {
      for (const [path, p] of named.call(built)) {
        const at = this.keys.get(p);
        if (at !== undefined) weights[path] = at;
      }
    }
    const shards = this.shards.map(({ file, size, sha256 }) => ({ file, size, sha256 }));
    const index = { format: FORMAT, version: 1, generation: this.generation, seed: this.seed, shards, weights };
    writeFileAtomicSync(join(this.dir, INIT_INDEX_NAME), JSON.stringify(index, null, 1) + '\n');
    this.removeOlderShards();
  }

  /** The build failed: its weights are released and the shards it wrote removed (files of other runs stay). */
  abort(): void {
    for (const p of this.created) p.dispose();
    this.pending = [];
    for (const s of this.shards) fs.rmSync(join(this.dir, s.file), { force: true });
  }

  private flush(): void {
    // A weight the build itself disposed (a layer replacing its own init) has nothing left to write.
    this.pending = this.pending.filter((e) => !e.param.isDisposed);
    this.pendingBytes = this.pending.reduce((n, e) => n + e.data.byteLength, 0);
    if (this.pending.length === 0) return this.arena.written();
    const file = `weights-${String(this.shards.length + 1).padStart(5, '0')}.safetensors`;
    const path = join(this.dir, file);
    const entries: Record<string, SafetensorsEntry> = Object.create(null);
    for (const { key, param, data } of this.pending) {
      entries[key] = { dtype: 'F32', shape: param.shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    }
    const heldBytes = ledger.hostBytes;
    const start = performance.now();
    const hash = createHash('sha256');
    // The chunks are the weights' own bytes (no copy of the shard is made); hashed as they are written.
    const chunks = encodeSafetensorsLazily(entries, { format: FORMAT, generation: this.generation }, path);
    const hashed = (function* () {
      for (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    })();
    writeFileAtomicSync(path, Object.assign(hashed, { byteLength: chunks.byteLength }));
    const st = fs.statSync(path);
    const shard: Shard = { file, sha256: hash.digest('hex'), size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    this.shards.push(shard);
    for (const { key, param } of this.pending) {
      param.toDisk(initShardRef(path, key, shard));
      this.keys.set(param, [file, key]);
    }
    emit('offload', { path, bytes: this.pendingBytes, ms: performance.now() - start, to: 'disk', weights: this.pending.length, hostBytesHeld: heldBytes });
    this.pending = [];
    this.pendingBytes = 0;
    this.arena.written();
  }

  /** Shards numbered past this generation's count, left by an earlier, larger one (ours only: checked by format). */
  private removeOlderShards(): void {
    for (const name of fs.readdirSync(this.dir)) {
      const match = SHARD_NAME.exec(name);
      if (match === null || Number(match[1]) <= this.shards.length) continue;
      let ours = false;
      try {
        const f = SafetensorsFile.open(join(this.dir, name));
        ours = f.metadata()['format'] === FORMAT;
        f.close();
      } catch {
        // Not a readable safetensors file: not ours to delete.
      }
      if (ours) fs.rmSync(join(this.dir, name), { force: true });
    }
  }
}

/**
 * One weight of a shard. Each read checks that the file is still the one written (size, inode, mtime and
 * change time: a regeneration into the same folder renames a new file over it, an edit changes its times),
 * so a stale model never reads another generation's values.
 */
function initShardRef(path: string, key: string, shard: Identity): DiskRef {
  const openChecked = (): SafetensorsFile => {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (cause) {
      throw changed(path, 'it is missing', cause);
    }
    const diffs = (['size', 'ino', 'mtimeMs', 'ctimeMs'] as const).filter((k) => st[k] !== shard[k]);
    if (diffs.length > 0) throw changed(path, `its ${diffs.join(', ')} changed`);
    return SafetensorsFile.open(path);
  };
  return {
    path,
    read(): HostArray {
      const file = openChecked();
      try {
        return decodeValues(file.info(key), file.readBytes(key), key, path);
      } finally {
        file.close();
      }
    },
    // The shards hold float32 as it is (F32): uploads read them a piece at a time.
    openSpan: () => safetensorsSpan(openChecked(), key),
  };
}

function changed(path: string, why: string, cause?: unknown): MemhooksError {
  return new MemhooksError(
    ERROR_CODES.OFFLOAD_FILE_CHANGED,
    `The weight file ${path}, written by withParameterInit({ tier: 'disk' }), is no longer the one this model was built with (${why}): ` +
      `another build into the same dir replaced it, or it was edited or deleted. Build the model again, and give each live model its own dir.`,
    cause === undefined ? undefined : { cause },
  );
}
