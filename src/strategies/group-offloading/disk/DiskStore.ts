import * as fs from '../../../base/platform/fs.js';
import { join } from '../../../base/platform/path.js';
import { ERROR_CODES } from '../../../base/errors.js';
import { assertRoomToWrite, diskWriteFailure } from '../../../base/actionable.js';
import type { HostArray } from '../../../models/dtypes.js';
import type { DiskRef, Parameter } from '../../../models/Parameter.js';
import { ledger } from '../../../runtime/ledger.js';
import { assertRoomForDecoded, attachDecodedFrom, adopts, decodeItems, decodeLayout, type DecodeTarget } from '../decodeStaging.js';
import type { ModuleGroup } from '../ModuleGroup.js';
import type { GroupOffloadingConfig } from '../options.js';
import { StagingSlots } from '../StagingSlots.js';
import { groupFileRef, onloadInPieces } from '../../shared/groupFileRefs.js';
import type { GroupStore } from '../stores.js';
import {
  bytesOf,
  checksumOf,
  codesTensorOf,
  fileChangedError,
  groupFileName,
  packedLayout,
  readGroupSync,
  readManifest,
  reuseIfMatching,
  viewsOf,
  writeGroupFile,
  writeManifest,
  type GroupFile,
  type GroupRecord,
  type TensorRecord,
  type Manifest,
} from '../../shared/groupFiles.js';

/**
 * Disk tier: each group's weights live in one safetensors file under offloadToDiskPath, written at apply
 * (and verified by sha256 when reused), and checked on every read (size, mtime, inode, change time). Onloading
 * reads the file into fresh memory (synchronously) or, with useStream, on the transfer worker into a
 * staging slot ahead of use; the host then holds only the groups in flight. Cast weights (layerwise casting)
 * are stored as their codes (F16, BF16, F8_E4M3, F8_E5M2) and, streamed, decoded by the worker right after
 * the read, into float32 regions of the same slot.
 */
export class DiskStore implements GroupStore {
  readonly tier = 'disk' as const;
  private readonly files = new Map<ModuleGroup, GroupFile>();
  /** The dataId of each weight's upload, to notice a weight assigned while on the device. */
  private readonly uploadIds = new Map<Parameter, object>();
  private readonly names = new Map<Parameter, string>();
  /** Per group: where the worker decodes its cast weights in a slot, after the packed tensors. */
  private readonly decodes = new Map<ModuleGroup, { targets: DecodeTarget[]; end: number }>();
  /** With useStream: staging memory and the transfer worker, which reads (and decodes) ahead of use. */
  private slots: StagingSlots | undefined;
  private createdDir = false;
  private createdManifest = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly config: GroupOffloadingConfig,
    private readonly groups: readonly ModuleGroup[],
    paths: ReadonlyMap<Parameter, string>,
  ) {
    for (const g of groups) for (const p of g.params) this.names.set(p, paths.get(p)!);
  }

  /** Writes (or verifies and reuses) every group file and the manifest. Throws with nothing left behind. */
  prepare(): void {
    try {
      if (!fs.existsSync(this.dir)) {
        fs.mkdirSync(this.dir, { recursive: true });
        this.createdDir = true;
      }
      const listed = readManifest(this.dir);
      // Checked before anything is written: the groups not already listed there (reused when they match).
      assertRoomToWrite(this.dir, this.groups.reduce((n, g) => n + (listed?.groups[g.id] === undefined ? g.bytes : 0), 0));
      const manifest: Manifest = { format: 'memhooks-group-offload', version: 1, groups: { ...(listed?.groups ?? {}) } };
      for (const g of this.groups) {
        const entries = g.params.map((p) => {
          if (p.isLowPrecision) return codesTensorOf(p, this.names.get(p)!);
          const data = bytesOf(currentBytes(p));
          const tensor: TensorRecord = { name: this.names.get(p)!, dtype: p.dtype === 'int32' ? 'I32' : 'F32', shape: [...p.shape], byteLength: data.byteLength };
          return { tensor, data };
        });
        const datas = entries.map((e) => e.data);
        const record: GroupRecord = { file: groupFileName(g.id), checksum: checksumOf(datas), tensors: entries.map((e) => e.tensor) };
        const path = join(this.dir, record.file);
        const file = reuseIfMatching(path, listed?.groups[g.id], record) ?? writeGroupFile(path, record, datas);
        if (file.created) ledger.diskBytes += file.size;
        this.files.set(g, file);
        manifest.groups[g.id] = record;
      }
      this.createdManifest = listed === undefined;
      writeManifest(this.dir, manifest);
    } catch (error) {
      this.deleteCreated();
      const bytesNeeded = this.groups.reduce((n, g) => n + g.bytes, 0);
      throw diskWriteFailure(
        { what: 'Group offloading', folder: this.dir, bytesNeeded, option: 'offloadToDiskPath' },
        error,
        `Group offloading could not write its files to ${this.dir}; the model is unchanged. Check that the folder is writable and has room for the weights.`,
      );
    }
    if (this.config.useStream) {
      for (const [g, f] of this.files) {
        const { at, total } = packedLayout(f.record);
        this.decodes.set(g, decodeLayout(g.params, (p) => at[g.params.indexOf(p)]!, total));
      }
      this.slots = new StagingSlots(Math.max(0, ...[...this.decodes.values()].map((d) => d.end)), this.config);
    }
  }

  offloadInitial(group: ModuleGroup): void {
    for (const p of group.params) p.toDisk(this.refFor(group, p));
    group.state = 'offloaded';
  }

  onload(group: ModuleGroup): void {
    // Weight by weight, each a piece at a time, where the backend allows (groupFileRefs.ts); else the group whole.
    if (onloadInPieces(group.params)) this.uploaded(group);
    else this.upload(group, readGroupSync(this.files.get(group)!));
  }

  offload(group: ModuleGroup): void {
    const file = this.files.get(group)!;
    // A weight assigned while on the device: write the group again, so that the change is not lost.
    if (group.params.some((p) => p.storedTensor()?.dataId !== this.uploadIds.get(p))) this.rewrite(group, file);
    for (const p of group.params) {
      p.toDisk(this.refFor(group, p));
      this.uploadIds.delete(p);
    }
    this.slots?.releaseHeld(group);
    group.state = 'offloaded';
  }

  stage(group: ModuleGroup): 'staging' | 'skipped' {
    const file = this.files.get(group)!;
    const { at } = packedLayout(file.record);
    const { targets, end } = this.decodes.get(group)!;
    const free = this.slots?.acquire(end);
    if (free === undefined) return 'skipped';
    const { slot, control } = free;
    const ranges = file.record.tensors.flatMap((t, i) => [file.offsets[i]!, t.byteLength, at[i]!]);
    const identity = { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, ctimeMs: file.ctimeMs };
    const decode = targets.length > 0 ? decodeItems(targets) : undefined;
    this.slots!.read({ path: file.path, ...identity, ranges, hash: false, decode }, slot, control);
    this.slots!.stage(group, { slot, control, targets });
    group.state = 'staging';
    return 'staging';
  }

  complete(group: ModuleGroup): number | 'late' {
    const flight = this.slots!.take(group)!;
    const file = this.files.get(group)!;
    let waited: number | 'late';
    try {
      waited = this.slots!.settle(flight, `reading group "${group.id}" from ${file.path}`);
      if (waited !== 'late' && flight.targets.length > 0) assertRoomForDecoded(group, flight.targets, 'onload');
    } catch (error) {
      this.slots!.release(flight.slot);
      group.state = 'offloaded';
      const code = (error as { code?: string }).code;
      if (code === ERROR_CODES.OFFLOAD_FILE_CHANGED && !(error as Error).message.startsWith('The offload file')) {
        // The worker says why: "it was deleted", or "it was modified: <size, mtime, inode, change time>".
        throw fileChangedError(file, (error as Error).message.replace(/^.*\((.*)\)\.$/s, '$1'));
      }
      throw error;
    }
    // Not read yet, and this thread may not block for it (a Worker whose transfer worker has not booted yet): read
    // the group here, as without a stream; the slot stays set aside until the worker is done with it (StagingSlots).
    if (waited === 'late') {
      this.onload(group);
      return 'late';
    }
    const views = viewsOf(file.record, flight.slot.buffer, 0, packedLayout(file.record).at);
    this.upload(group, views);
    const decodedAdopted = attachDecodedFrom(group, flight.slot.buffer, flight.targets, waited);
    // recordStream frees the slot as soon as the backend no longer reads it: right after a copying upload.
    // A backend that adopted the arrays (cpu) reads the slot until the group is offloaded.
    if (this.config.recordStream && !decodedAdopted && !group.params.some((p) => adopts(p.storedTensor()!, flight.slot.buffer))) this.slots!.release(flight.slot);
    else this.slots!.hold(group, flight.slot);
    return waited;
  }

  cancel(group: ModuleGroup): void {
    this.slots?.cancel(group, `reading group "${group.id}"`);
    group.state = 'offloaded';
  }

  restore(group: ModuleGroup): void {
    if (group.state === 'staging') this.cancel(group);
    // Decoded values a prefetch attached would otherwise stay on the device for good: the casting hook decodes.
    for (const p of group.params) if (p.isLowPrecision) p.detachDecoded();
    // Tensors uploaded from a staging slot may alias it (cpu): read the group again into memory of its own.
    if (this.slots?.isHeld(group) === true) this.offload(group);
    if (group.state !== 'device') this.upload(group, readGroupSync(this.files.get(group)!));
    for (const p of group.params) this.uploadIds.delete(p);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.slots?.stagedGroups() ?? []) this.cancel(g);
    // Slots still backing device tensors (cpu) are dropped when those groups are restored or disposed.
    this.slots?.close();
    this.deleteCreated();
  }

  private upload(group: ModuleGroup, views: HostArray[]): void {
    group.params.forEach((p, i) => p.diskToDevice(views[i]!));
    this.uploaded(group);
  }

  /** The group is on the device: records each weight's upload (to notice one assigned there). */
  private uploaded(group: ModuleGroup): void {
    for (const p of group.params) this.uploadIds.set(p, p.storedTensor()!.dataId);
    group.state = 'device';
  }

  private refFor(group: ModuleGroup, p: Parameter): DiskRef {
    return groupFileRef(this.files.get(group)!, group.params.indexOf(p));
  }

  private rewrite(group: ModuleGroup, file: GroupFile): void {
    const datas = group.params.map((p) => (p.isLowPrecision ? codesTensorOf(p, '').data : bytesOf(p.peek()!.dataSync() as HostArray)));
    const record: GroupRecord = { ...file.record, checksum: checksumOf(datas) };
    const fresh = writeGroupFile(file.path, record, datas);
    if (!file.created) ledger.diskBytes += fresh.size;
    else ledger.diskBytes += fresh.size - file.size;
    this.files.set(group, fresh);
    const manifest = readManifest(this.dir);
    if (manifest !== undefined) writeManifest(this.dir, { ...manifest, groups: { ...manifest.groups, [group.id]: record } });
  }

  /** Deletes the files this application wrote (never the ones it reused), the manifest and folder if it created them. */
  private deleteCreated(): void {
    for (const file of this.files.values()) {
      if (!file.created) continue;
      fs.rmSync(file.path, { force: true });
      ledger.diskBytes -= file.size;
    }
    this.files.clear();
    if (this.createdManifest) fs.rmSync(join(this.dir, 'memhooks-offload-manifest.json'), { force: true });
    if (this.createdDir) {
      try {
        fs.rmdirSync(this.dir);
      } catch {
        // Not empty: someone else put files there; leave it.
      }
    }
  }
}

/** The bytes a weight holds now, without moving it. */
function currentBytes(p: Parameter): HostArray {
  // A weight that starts on disk (generated there, or mapped there) is read from its own file: prepare()
  // holds one group's bytes at a time, never the model.
  if (p.tier === 'disk') return p.diskRef!.read();
  return p.isResident ? (p.peek()!.dataSync() as HostArray) : p.hostData();
}
