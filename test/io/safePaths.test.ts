import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPlainFileName, resolveFileInside } from '../../src/io/safePaths.js';
import { type MemhooksError } from '../../src/index.js';

describe('resolveFileInside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memhooks-paths-'));
  writeFileSync(join(dir, 'shard-00001.bin'), 'x');
  writeFileSync(join(tmpdir(), 'memhooks-outside.bin'), 'secret');
  mkdirSync(join(dir, 'sub'));
  symlinkSync(join(tmpdir(), 'memhooks-outside.bin'), join(dir, 'link.bin'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a plain file name that exists in the directory', () => {
    expect(resolveFileInside(dir, 'shard-00001.bin', 'model.json')).toBe(join(dir, 'shard-00001.bin'));
  });

  it.each([
    ['../memhooks-outside.bin'],
    ['/etc/passwd'],
    ['..'],
    ['.'],
    [''],
    ['sub/../shard-00001.bin'],
    ['..\\..\\windows\\win.ini'],
    ['C:evil.bin'],
    ['\\\\server\\share\\x'],
    ['shard\u0000.bin'],
  ])('refuses %j', (name) => {
    expect(() => resolveFileInside(dir, name, 'model.json weightsManifest')).toThrow(/not a plain file name/);
  });

  it('refuses links, directories, missing files and non-strings', () => {
    expect(() => resolveFileInside(dir, 'link.bin', 'index')).toThrow(/not a regular file/);
    expect(() => resolveFileInside(dir, 'sub', 'index')).toThrow(/not a regular file/);
    expect(() => resolveFileInside(dir, 'nope.bin', 'index')).toThrow(/does not exist/);
    const err = (() => {
      try {
        resolveFileInside(dir, 42, 'index');
      } catch (e) {
        return e;
      }
    })();
    expect((err as MemhooksError).code).toBe('UNSAFE_PATH');
  });

  it('knows plain names, under Windows rules too', () => {
    expect(isPlainFileName('model-00001-of-00002.safetensors')).toBe(true);
    expect(isPlainFileName('console.bin')).toBe(true);
    for (const bad of ['a/b', 'CON', 'nul.txt', 'com1.safetensors', 'LPT9', 'x.', 'x ', 'a<b', 'a|b', 'a?b', 'a*b', 'a"b', 'x'.repeat(256)]) {
      expect(isPlainFileName(bad), bad).toBe(false);
    }
  });
});
