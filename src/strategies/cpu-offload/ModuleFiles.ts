import * as fs from '../../base/platform/fs.js';
import { join } from '../../base/platform/path.js';
import { ERROR_CODES, MemhooksError } from '../../base/errors.js';
import { assertRoomToWrite, diskWriteFailure } from '../../base/actionable.js';
import type { HostArray } from '../../models/dtypes.js';
import type { Parameter } from '../../models/Parameter.js';
import { ledger } from '../../runtime/ledger.js';
import { memory } from '../../runtime/memory.js';
import { emit } from '../../runtime/events.js';
import { bytesOf, checksumOf, codesTensorOf, groupFileName, readGroupSync, writeGroupFile, type GroupFile, type GroupRecord } from '../shared/groupFiles.js';
import { groupFileRef, onloadInPieces } from '../shared/groupFileRefs.js';

/** One module's own weights in one file. */
interface Entry {
  readonly path: string;
  readonly params: readonly Parameter[];
  readonly file: GroupFile;
}

/**
 * Sequential offload to disk (accelerate's disk_offload): each module's own weights in one safetensors file
 * under the folder (group offloading's file format and checks: atomic writes, size, mtime and sha256
 * verified on every read). A module's forward reads its file once and uploads every weight; afterwards the
 * weights are dropped from the device and nothing of them stays in host memory. The files this
 * application wrote are deleted at remove().
 */
export class ModuleFiles {
  private readonly entries: Entry[] = [];
  private createdDir = false;

  constructor(private readonly dir: string) {}

  /** Writes one file per module (failing, it deletes what it wrote and throws with the model unchanged). */
  write(owners: ReadonlyArray<{ path: string; params: readonly Parameter[] }>): void {
    const bytesNeeded = owners.reduce((n, o) => n + o.params.reduce((m, p) => m + p.byteLength, 0), 0);
    try {
      if (!fs.existsSync(this.dir)) {
        fs.mkdirSync(this.dir, { recursive: true });
        this.createdDir = true;
      }
      assertRoomToWrite(this.dir, bytesNeeded);
      for (const { path, params } of owners) {
        // A cast weight (layerwise casting) is written as its codes, under safetensors' own dtype.
        const coded = params.map((p, i) => (p.isLowPrecision ? codesTensorOf(p, `${path}#${i}`) : undefined));
        const datas = params.map((p, i) => coded[i]?.data ?? bytesOf(currentBytes(p)));
        const record: GroupRecord = {
          file: groupFileName(`sequential:${path}`),
          checksum: checksumOf(datas),
          tensors: params.map((p, i) => coded[i]?.tensor ?? { name: `${path}#${i}`, dtype: p.dtype === 'int32' ? 'I32' : 'F32', shape: [...p.shape], byteLength: datas[i]!.byteLength }),
        };
        const file = writeGroupFile(join(this.dir, record.file), record, datas);
        ledger.diskBytes += file.size;
        this.entries.push({ path, params, file });
      }
    } catch (cause) {
      this.close();
      throw diskWriteFailure(
        { what: 'Sequential offload', folder: this.dir, bytesNeeded, option: 'offloadToDiskPath' },
        cause,
        `Sequential offload could not write its files to ${this.dir}; the model is unchanged. Check that the folder is writable and has room for the weights.`,
      );
    }
  }

  /** The entry of a module, by its params array (each hook holds the one it was given). */
  entryOf(params: readonly Parameter[]): Entry | undefined {
    return this.entries.find((e) => e.params === params);
  }

  /** Leaves the weights only on disk (a dispose: the file holds them). */
  offload(entry: Entry): void {
    const start = performance.now();
    entry.params.forEach((p, i) => p.toDisk(groupFileRef(entry.file, i)));
    emit('offload', { path: entry.path, bytes: entry.params.reduce((n, p) => n + p.byteLength, 0), ms: performance.now() - start, to: 'disk' });
  }

  /** Reads the module's file once and uploads its weights (budget checked first). */
  onload(entry: Entry, what: string): void {
    const bytes = entry.params.reduce((n, p) => n + p.byteLength, 0);
    memory.assertDeviceBudget(bytes, what, 'Nothing smaller than one module can be onloaded: split the module, or cast its weights lower.');
    const start = performance.now();
    if (!this.readingFile(entry, () => onloadInPieces(entry.params))) {
      const views = this.read(entry);
      entry.params.forEach((p, i) => p.diskToDevice(views[i]!));
    }
    emit('onload', { path: entry.path, bytes, ms: performance.now() - start, from: 'disk' });
  }

  /** Every weight's bytes, read and verified (remove(): everything is read before anything changes). */
  readAll(): Map<Parameter, HostArray> {
    const out = new Map<Parameter, HostArray>();
    for (const e of this.entries) this.read(e).forEach((v, i) => out.set(e.params[i]!, v));
    return out;
  }

  private read(entry: Entry): HostArray[] {
    return this.readingFile(entry, () => readGroupSync(entry.file));
  }

  /** `read()`, whose failure (the file changed or is gone) becomes the error that names the module and its file. */
  private readingFile<T>(entry: Entry, read: () => T): T {
    try {
      return read();
    } catch (cause) {
      throw new MemhooksError(
        ERROR_CODES.OFFLOAD_FILE_CHANGED,
        `Sequential offload cannot read the weights of module "${entry.path}" back from ${entry.file.path}. Do not modify offloadToDiskPath while a model is offloaded there; ` +
          `reload the model (its weights are only in that file).`,
        { cause },
      );
    }
  }

  /** Deletes the files (and the folder, if this created it and it is empty). Idempotent. */
  close(): void {
    for (const e of this.entries.splice(0)) {
      fs.rmSync(e.file.path, { force: true });
      ledger.diskBytes -= e.file.size;
    }
    if (this.createdDir) {
      this.createdDir = false;
      try {
        fs.rmdirSync(this.dir);
      } catch {
        // Not empty: someone else put files there; leave it.
      }
    }
  }
}

function currentBytes(p: Parameter): HostArray {
  return p.isResident ? (p.peek()!.dataSync() as HostArray) : p.hostData();
}
