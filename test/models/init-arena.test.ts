import { describe, expect, it } from 'vitest';
import { InitArena } from '../../src/models/initArena.js';

describe('InitArena: the buffer a generation on disk draws its weights into', () => {
  it('hands out zeroed arrays from one buffer and starts over once the shard holding them is written', () => {
    const arena = new InitArena(1024);
    const a = arena.alloc(10).fill(7);
    const b = arena.alloc(3).fill(8);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(48); // 40 bytes, aligned to 16
    arena.placed(a);
    arena.placed(b);
    arena.written();
    const c = arena.alloc(12);
    expect(c.buffer).toBe(a.buffer);
    expect(c.byteOffset).toBe(0);
    expect([...c]).toEqual(new Array(12).fill(0));
  });

  it('never starts over under an array still being filled: later arrays go after it', () => {
    const arena = new InitArena(1024);
    const filling = arena.alloc(4).fill(5);
    const placed = arena.alloc(4);
    arena.placed(placed);
    expect(arena.idle).toBe(false);
    arena.written();
    const next = arena.alloc(4).fill(9);
    expect(next.byteOffset).toBe(32);
    expect([...filling]).toEqual([5, 5, 5, 5]);
  });

  it('grows for a weight bigger than a shard while unused, and gives a new array when it has no room', () => {
    const arena = new InitArena(64);
    const big = arena.alloc(100);
    expect(big.buffer.byteLength).toBe(400);
    const other = arena.alloc(100);
    expect(other.buffer).not.toBe(big.buffer);
    expect(other.byteOffset).toBe(0);
    expect(arena.alloc(0)).toHaveLength(0);
  });
});
