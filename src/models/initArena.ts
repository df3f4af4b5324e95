/**
 * The memory a generation on disk (withParameterInit({ tier: 'disk' })) draws its weights' values into: one buffer,
 * reused shard after shard, instead of a new array per weight. A weight's array is garbage once its shard is
 * written, and a browser frees garbage late: generating the zoo xl pipeline into OPFS, a Worker's heap peaked at
 * 271 to 303 MB with an array per weight and at 206 MB with the arena. The buffer holds one shard, or one weight
 * bigger than a shard.
 *
 * The shard writer tells the arena what happens: `placed` when an array joins the shard in progress, `written` once
 * that shard is on disk. The arena starts over only when every array it handed out since it last did is written; an
 * array handed out and never placed (a build that dropped it) keeps it from starting over, and later arrays are then
 * new ones, as without an arena.
 */
export class InitArena {
  private buffer: ArrayBuffer | undefined;
  private used = 0;
  /** Arrays handed out and not placed yet. */
  private outstanding = 0;

  /** `shardBytes`: the writer's shard size; the buffer has room for one shard's arrays and their alignment. */
  constructor(private readonly shardBytes: number) {}

  /** Whether no array of the arena is being filled (handed out, not placed): the writer may write its shard now. */
  get idle(): boolean {
    return this.outstanding === 0;
  }

  /** A zeroed array of `length` values: in the buffer when it has room (growing it when it is unused), else a new one. */
  alloc(length: number): Float32Array {
    const bytes = Math.ceil((length * 4) / 16) * 16;
    if (bytes === 0) return new Float32Array(0);
    if (this.used === 0 && (this.buffer?.byteLength ?? 0) < bytes) this.buffer = new ArrayBuffer(Math.max(bytes, this.shardBytes + (this.shardBytes >> 4)));
    if (this.buffer === undefined || this.used + bytes > this.buffer.byteLength) return new Float32Array(length);
    const values = new Float32Array(this.buffer, this.used, length).fill(0);
    this.used += bytes;
    this.outstanding++;
    return values;
  }

  /** `data` joins the shard in progress. */
  placed(data: Float32Array): void {
    if (this.buffer !== undefined && data.buffer === this.buffer) this.outstanding--;
  }

  /** The shard in progress is on disk: the buffer starts over if none of it is still being filled. */
  written(): void {
    if (this.outstanding === 0) this.used = 0;
  }
}
