/**
 * Failures a user can act on (a full disk, a folder without write permission, a read-only file system, a
 * device budget refusal) are named in the first sentence a user reads, not only deep in the cause chain.
 * The disk writers wrap their failures with diskWriteFailure, which says what happened, in which folder,
 * how many bytes were needed and were free, and what to do; applyFailureLead puts that first in a strategy's
 * STRATEGY_APPLY_FAILED message.
 */
import * as fs from './platform/fs.js';
import { dirname } from './platform/path.js';
import { ERROR_CODES, MemhooksError } from './errors.js';
import { formatBytes } from './format.js';

/** The operating system's codes for failures that the user can fix (Node's `error.code`). */
const ACTIONABLE_CODES = ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS'] as const;
type ActionableCode = (typeof ACTIONABLE_CODES)[number];

/** An error whose `actionable` sentence says what went wrong and what to do (set by diskWriteFailure). */
interface WithActionable {
  readonly actionable: string;
}

/** The links of an error's cause chain, outermost first (bounded, in case of a cycle). */
function* chain(error: unknown): Generator<unknown> {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 32; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

function systemCodeIn(error: unknown): ActionableCode | undefined {
  for (const e of chain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (ACTIONABLE_CODES as readonly string[]).includes(code)) return code as ActionableCode;
  }
  return undefined;
}

/** Free bytes for this process on the file system holding `folder` (or its nearest existing parent). */
export function freeBytesAt(folder: string): number | undefined {
  return roomAt(folder)?.free;
}

/** Free bytes where `folder` is, and whether they are a quota's (in a page: the origin's storage quota). */
function roomAt(folder: string): { free: number; quota: boolean } | undefined {
  let dir = folder;
  try {
    while (!fs.existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    const s = fs.statfsSync(dir) as { bavail: number | bigint; bsize: number | bigint; quota?: number };
    return { free: Number(s.bavail) * Number(s.bsize), quota: s.quota !== undefined };
  } catch {
    return undefined;
  }
}

/**
 * Refuses, before anything is written, a write of `bytes` into `folder` when its file system has less free (in a
 * page: the origin's storage quota minus its usage, navigator.storage.estimate()). It throws the system error a
 * write would meet part-way (ENOSPC, or EDQUOT for a quota), so the writer's roll-back and message are those of a
 * failed write (diskWriteFailure: the bytes needed and free, and what to do), with nothing written. Where the free
 * space cannot be learned, the write goes ahead; one that fails part-way is still rolled back.
 */
export function assertRoomToWrite(folder: string, bytes: number): void {
  const room = roomAt(folder);
  if (room === undefined || room.free >= bytes) return;
  const code = room.quota ? 'EDQUOT' : 'ENOSPC';
  throw Object.assign(new Error(`${code}: ${bytes} bytes to write in ${folder}, ${room.free} free (checked before writing)`), { code, path: folder });
}

export interface DiskWriteContext {
  /** Who was writing, as the sentence's subject: 'Group offloading', 'Sequential offload'. */
  what: string;
  /** The folder the files go to. */
  folder: string;
  /** The bytes the writer needed in the folder, where known. */
  bytesNeeded?: number;
  /** The option that names the folder, for the advice (offloadToDiskPath, offloadFolder). */
  option?: string;
  /** False when `folder` is only a description (no path known): then free bytes are not looked up. */
  isPath?: boolean;
}

/** The reason and the advice for a failed write, or undefined when the cause is not one the user can fix. */
export function diskWriteReason(ctx: DiskWriteContext, cause: unknown): string | undefined {
  const code = systemCodeIn(cause);
  if (code === undefined) return undefined;
  const elsewhere = ctx.option === undefined ? 'write to another folder' : `pass ${ctx.option} a folder`;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    const free = ctx.isPath === false ? undefined : freeBytesAt(ctx.folder);
    const facts = [
      ctx.bytesNeeded === undefined ? undefined : `needs ${formatBytes(ctx.bytesNeeded)} (${ctx.bytesNeeded} bytes)`,
      free === undefined ? undefined : `${formatBytes(free)} (${free} bytes) free`,
    ].filter((f) => f !== undefined);
    const what = code === 'ENOSPC' ? `no space left on the disk holding ${ctx.folder}` : `the disk quota of ${ctx.folder} is used up`;
    return `${what}${facts.length > 0 ? ` (${facts.join(', ')})` : ''}. Free space there, or ${elsewhere} on a disk with room.`;
  }
  if (code === 'EROFS') return `${ctx.folder} is on a read-only file system. Remount it writable, or ${elsewhere} on a writable disk.`;
  return `no permission to write in ${ctx.folder} (${code}). Give this process write access to it, or ${elsewhere} it can write to.`;
}

/**
 * A WRITE_FAILED error for a writer that could not write its files. With a cause the user can fix, its
 * message leads with the reason (and carries it as `actionable`); otherwise it says `fallback`.
 */
export function diskWriteFailure(ctx: DiskWriteContext, cause: unknown, fallback: string): MemhooksError {
  const reason = diskWriteReason(ctx, cause);
  if (reason === undefined) return new MemhooksError(ERROR_CODES.WRITE_FAILED, fallback, { cause });
  return markActionable(new MemhooksError(ERROR_CODES.WRITE_FAILED, `${ctx.what} could not write its files and left the model unchanged: ${reason}`, { cause }), reason);
}

/** The error diskWriteFailure makes when the cause is one the user can fix; else `error` itself. */
export function wrapDiskWriteFailure(ctx: DiskWriteContext, error: unknown): unknown {
  return diskWriteReason(ctx, error) === undefined ? error : diskWriteFailure(ctx, error, '');
}

/** Attaches the reason that applyFailureLead puts first. */
export function markActionable(error: MemhooksError, reason: string): MemhooksError {
  return Object.assign(error, { actionable: reason } satisfies WithActionable);
}

/** The first line of an error's message (a MemhooksError appends its causes below it). */
function firstLine(error: Error): string {
  return error.message.split('\n')[0]!;
}

/** The reason the user can act on in an apply failure's cause chain (the outermost), if there is one. */
export function actionableReason(cause: unknown): string | undefined {
  for (const e of chain(cause)) {
    const actionable = (e as Partial<WithActionable>).actionable;
    if (typeof actionable === 'string') return actionable;
    if (e instanceof Error && (e as { code?: unknown }).code === ERROR_CODES.DEVICE_BUDGET_EXCEEDED) return `the device budget refused it: ${firstLine(e)}`;
  }
  const code = systemCodeIn(cause);
  if (code === undefined) return undefined;
  // A raw system error: name the folder from the path it carries.
  const path = [...chain(cause)].map((e) => (e as { path?: unknown }).path).find((p) => typeof p === 'string') as string | undefined;
  return diskWriteReason(path === undefined ? { what: 'memhooks', folder: 'the target folder', isPath: false } : { what: 'memhooks', folder: dirname(path) }, cause);
}

/**
 * The first sentence of a STRATEGY_APPLY_FAILED message: the reason the user can act on when the cause
 * chain has one, else the generic statement. The caller appends the roll-back facts.
 */
export function applyFailureLead(name: string, where: string, cause: unknown): string {
  const reason = actionableReason(cause);
  return reason === undefined
    ? `Strategy "${name}" failed while applying to module ${where}; `
    : `Strategy "${name}" could not be applied to module ${where}: ${reason} `;
}
