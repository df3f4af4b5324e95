import { ledger } from '../ledger.js';

/**
 * One region of staging memory that the transfer worker fills and a group uploads from: a SharedArrayBuffer, or,
 * where there is no shared memory (a page that is not cross-origin isolated), an ArrayBuffer that travels to the
 * worker and back by transfer (`buffer` is then replaced by the one that came back).
 */
export interface StagingSlot {
  buffer: SharedArrayBuffer | ArrayBuffer;
  readonly byteLength: number;
}

/**
 * Staging memory for transfers in flight: the tfjs analog of pinned host buffers. With `reserve` (the
 * default, lowCpuMemUsage false) `count` slots of `slotBytes` are allocated up front and reused; otherwise
 * (lowCpuMemUsage) a slot is allocated per transfer, sized to it, and dropped when released, so host memory
 * holds only the transfers in flight. Either way at most `count` slots exist at a time: a transfer that
 * finds none free is not staged (its group is then onloaded synchronously when it runs).
 */
export class StagingPool {
  private readonly free: StagingSlot[] = [];
  private inUse = 0;
  private closed = false;

  constructor(
    private readonly slotBytes: number,
    private readonly count: number,
    private readonly reserve: boolean,
    /** Shared memory (the default), or transferable ArrayBuffers where there is none (transferThread().shared). */
    private readonly shared = true,
  ) {
    if (reserve) for (let i = 0; i < count; i++) this.free.push(this.allocate(slotBytes));
  }

  /** A slot of at least `bytes`, or undefined when `count` slots are in use. */
  acquire(bytes: number): StagingSlot | undefined {
    if (this.closed || this.inUse >= this.count || bytes > this.slotBytes) return undefined;
    this.inUse++;
    return this.reserve ? this.free.pop()! : this.allocate(bytes);
  }

  release(slot: StagingSlot): void {
    this.inUse--;
    if (this.reserve && !this.closed) this.free.push(slot);
    else ledger.hostBytes -= slot.byteLength;
  }

  /** Drops the reserved slots (slots still in use are dropped when released). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.free.splice(0)) ledger.hostBytes -= slot.byteLength;
  }

  private allocate(bytes: number): StagingSlot {
    ledger.hostBytes += bytes;
    return { buffer: this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes), byteLength: bytes };
  }
}
