import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemhooksError, removeStaleTempFiles } from '../../src/index.js';
import { writeFileAtomic } from '../../src/io/atomicWrite.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'memhooks-atomic-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes strings, bytes and chunk streams, replacing an existing file', async () => {
    const target = join(dir, 'a.json');
    await writeFileAtomic(target, 'first');
    expect(await readFile(target, 'utf8')).toBe('first');
    await writeFileAtomic(target, new Uint8Array([104, 105]));
    expect(await readFile(target, 'utf8')).toBe('hi');
    async function* chunks() {
      yield new Uint8Array([1, 2]);
      yield new Uint8Array([3]);
    }
    await writeFileAtomic(target, chunks(), { fsync: false });
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('leaves the old file intact and no temporary file when the data fails midway', async () => {
    const target = join(dir, 'weights.bin');
    await writeFile(target, 'old content');
    function* failing() {
      yield new Uint8Array(1024).fill(7);
      throw new Error('the producer died');
    }
    const attempt = writeFileAtomic(target, failing());
    await expect(attempt).rejects.toBeInstanceOf(MemhooksError);
    await expect(writeFileAtomic(target, failing())).rejects.toThrow(/Could not write .*weights\.bin; the previous file \(if any\) is unchanged[\s\S]*the producer died/);
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['weights.bin']);
  });

  it('says where it failed when the directory does not exist', async () => {
    const err = await writeFileAtomic(join(dir, 'missing', 'x'), 'x').catch((e: unknown) => e);
    expect((err as MemhooksError).code).toBe('WRITE_FAILED');
    expect((err as Error).message).toMatch(/missing[\\/]x/);
  });

  it('removes the temporary files of crashed writes, and only those', async () => {
    // A pid far above Linux's maximum (2^22) cannot be alive: that writer crashed.
    const dead = '.model.safetensors.tmp-99999999-0123456789ab';
    const live = `.other.bin.tmp-${process.pid}-0123456789ab`;
    await writeFile(join(dir, dead), 'partial');
    await writeFile(join(dir, live), 'in flight');
    await writeFile(join(dir, 'model.safetensors'), 'complete');
    await writeFile(join(dir, '.hidden.tmp-notours'), 'keep');
    expect(await removeStaleTempFiles(dir)).toEqual([dead]);
    expect((await readdir(dir)).sort()).toEqual(['.hidden.tmp-notours', live, 'model.safetensors'].sort());
  });

  it('keeps the permissions of the file it replaces', async () => {
    const target = join(dir, 'script.sh');
    await writeFile(target, 'old', { mode: 0o751 });
    await chmod(target, 0o751);
    await writeFileAtomic(target, 'new');
    expect((await stat(target)).mode & 0o777).toBe(0o751);
  });
});
