import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { runCli } from '../helpers/cli.js';
import { loadShardedCheckpoint, saveShardedCheckpoint, useBackend } from '../../src/index.js';

const run = runCli;

describe('memhooks CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'memhooks-cli-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the hooks benchmark in smoke mode and writes its json and md', async () => {
    const { code, out, err } = await run('bench', 'hooks', '--smoke', '--backend', 'cpu', '--out', dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('[hooks]');
    const json = JSON.parse(await readFile(join(dir, 'hooks.cpu.json'), 'utf8'));
    expect(json.machine.backend).toBe('cpu');
    expect(json.run.smoke).toBe(true);
    expect(json.sections.map((s: { id: string }) => s.id)).toEqual(['dispatch', 'hooked-call', 'tracker', 'wrapped-model']);
    for (const s of json.sections.filter((s: { skipped?: string }) => s.skipped === undefined)) {
      expect(s.check.maxAbsDiff).toBe(0);
      expect(s.check.leakedTensors).toBe(0);
    }
    expect(await readFile(join(dir, 'hooks.cpu.md'), 'utf8')).toContain('| hooks | ns per call |');
  });

  it.each(['wasm', 'cpu'])('runs the graph benchmark in smoke mode on %s: the real GraphModel wrapped, every offloading row bitwise', async (backend) => {
    const { code, out, err } = await run('bench', 'graph', '--smoke', '--backend', backend, '--out', dir);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('[graph]');
    const json = JSON.parse(await readFile(join(dir, `graph${backend === 'wasm' ? '' : `.${backend}`}.json`), 'utf8'));
    expect(json.sections.map((s: { id: string }) => s.id)).toEqual(['overhead', 'strategies']);
    for (const s of json.sections) {
      expect(s.skipped).toBeUndefined();
      expect(s.check.maxAbsDiff).toBe(0);
      expect(s.check.leakedTensors).toBe(0);
    }
    const { table, metrics } = json.sections[1];
    expect(table.rows.map((r: unknown[]) => r[0])).toEqual(['resident', 'group leaf + stream', 'group block(1)', 'disk leaf + stream', 'leaf + stream, shipped uint8 on the host']);
    const column = (name: string): number[] => table.rows.map((r: number[]) => r[table.columns.indexOf(name)]);
    // Resident keeps its weights on the device between calls; offloading leaves none and peaks lower.
    const [residentWeights, ...offloadedWeights] = column('weight MB between calls');
    expect(residentWeights).toBeCloseTo(metrics.residentWeightBytes / 1e6, 6);
    expect(residentWeights).toBeGreaterThan(0);
    expect(offloadedWeights).toEqual([0, 0, 0, 0]);
    const [residentPeak, ...offloadedPeaks] = column('peak device MB');
    for (const p of offloadedPeaks) expect(p).toBeLessThan(residentPeak!);
    expect(column('max abs diff')).toEqual([0, 0, 0, 0, 0]);
    // The shipped row keeps uint8 codes on the host: less host memory than the float32 leaf + stream row.
    const host = column('host MB');
    expect(host[4]).toBeLessThan(host[1]!);
  }, 240_000);

  it('rejects an unknown benchmark with exit code 2 and the valid names', async () => {
    const { code, err } = await run('bench', 'nope', '--smoke');
    expect(code).toBe(2);
    expect(err).toMatch(/^memhooks: Unknown benchmark "nope"\. Valid benchmarks: strategies, [a-z, -]+\.\n$/);
    expect(err).toContain(' hooks,');
  });

  it('rejects an unknown backend with exit code 2 and the valid backends', async () => {
    const { code, err } = await run('bench', '--smoke', '--backend', 'webgl');
    expect(code).toBe(2);
    expect(err).toBe('memhooks: Unknown backend "webgl". Valid backends: wasm, cpu.\n');
  });

  it('rejects a bad --runs and an unknown option with exit code 2, without a stack trace', async () => {
    const runs = await run('bench', '--smoke', '--runs', 'zero');
    expect(runs.code).toBe(2);
    expect(runs.err).toContain('--runs needs a positive integer, got "zero".');
    for (const odd of ['1e1', '0x2', '2.5', '0']) expect((await run('bench', '--smoke', '--runs', odd)).code).toBe(2);
    const option = await run('bench', '--fast');
    expect(option.code).toBe(2);
    expect(option.err).toContain("unknown option '--fast'");
    expect(option.err).not.toMatch(/\n\s+at /);
  });

  it('refuses an --out that is not a writable directory before running anything', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const { code, out, err } = await run('bench', '--smoke', '--out', file);
    expect(code).toBe(2);
    expect(err).toMatch(/^memhooks: --out .*a-file is not a writable directory/);
    expect(out).not.toContain('[hooks]');
  });

  it('runs the main job by default: the strategies table on the zoo pipeline, with numbers, even in a smoke run', async () => {
    const { code, out, err } = await run('bench', '--smoke', '--backend', 'cpu');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('[strategies]');
    expect(out).not.toContain('[hooks]');
    const row = out.split('\n').find((l) => l.startsWith('| group leaf + stream |'));
    expect(row).toBeDefined();
    // strategy, ms per step, ratio, efficiency, peak MB, host MB, MB onloaded, max abs diff: all numbers.
    const cells = row!.split('|').slice(2, -1).map((c) => Number(c.trim().replace(/,/g, '')));
    expect(cells.every((x) => Number.isFinite(x))).toBe(true);
    expect(cells[cells.length - 1]).toBe(0);
    // The header promises what --runs allows; each table says what it measured (the smoke strategies run: 1).
    expect(out).toMatch(/^memhooks bench: strategies on cpu \(1 thread\), smoke run, at most 2 rounds per variant/);
    expect(out).toContain('One timed round after a warm-up');
    expect(out).not.toMatch(/\b1 rounds\b|\b1 interleaved rounds\b|thread\(s\)|Medians of 2 interleaved rounds/);
  }, 240_000);

  it('lists a benchmark that needs an optional peer without loading it, with the description of its module', async () => {
    const { BENCHMARKS } = await import('../../bench/index.js');
    const { layersBenchmark } = await import('../../bench/layers.js');
    expect(BENCHMARKS['layers']!.description).toBe(layersBenchmark.description);
    expect(BENCHMARKS['layers']).not.toBe(layersBenchmark);
    await expect(BENCHMARKS['layers']!.prepare!()).resolves.toBeUndefined();
  });

  it('prints machine-readable results with --json and refuses an unknown --size', async () => {
    const { code, out } = await run('bench', 'hooks', '--smoke', '--backend', 'cpu', '--json');
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(doc.results.map((r: { name: string }) => r.name)).toEqual(['hooks']);
    const bad = await run('bench', '--smoke', '--size', 'huge');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('memhooks: Unknown size "huge". Valid sizes: tiny, small, base, large, xl.\n');
  });

  it('inspects a zoo pipeline: the tree with bytes and the device map under --max-memory', async () => {
    const { code, out, err } = await run('inspect', 'zoo:tiny', '--backend', 'cpu', '--depth', '1', '--max-memory', 'device=200KB,host=10MB');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^zoo:tiny: [\d.]+ KiB of weights in 3 component\(s\)/);
    expect(out).toContain('denoiser (FluxDenoiser,');
    expect(out).toContain('transformer_blocks: ModuleList');
    // Depth 1: the blocks' own children are not listed.
    expect(out).not.toContain('norm1_context: AdaLayerNormZero');
    expect(out).toMatch(/→ device/);
    expect(out).toMatch(/→ host/);
    const json = JSON.parse((await run('inspect', 'zoo:tiny', '--backend', 'cpu', '--json', '--max-memory', 'device=1GB')).out);
    expect(json.components.map((c: { name: string }) => c.name)).toEqual(['textEncoder', 'denoiser', 'vae']);
    expect(Object.values(json.components[1].deviceMap)).toEqual(['device']);
  });

  it('refuses an unknown model and a malformed --max-memory with exit code 2', async () => {
    const unknown = await run('inspect', 'zoo:giant', '--backend', 'cpu');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('memhooks: Unknown zoo size "giant". Valid sizes: tiny, small, base, large, xl.\n');
    const bad = await run('inspect', 'zoo:tiny', '--backend', 'cpu', '--max-memory', 'device:2GB');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--max-memory entry "device:2GB" must be device=size');
  });

  it('re-shards a checkpoint by size, every tensor bitwise the same', async () => {
    await useBackend('cpu');
    const source = join(dir, 'single');
    const tensors = { 'a.weight': tf.randomNormal([64, 32], 0, 1, 'float32', 1), 'b.weight': tf.randomNormal([128], 0, 1, 'float32', 2), 'c.ids': tf.tensor1d([1, 2, 3], 'int32') };
    await mkdir(source);
    saveShardedCheckpoint(tensors, source);
    const out = join(dir, 'sharded');
    const { code, out: text, err } = await run('shard', source, out, '--max-shard-size', '4KB');
    expect(err).toBe('');
    expect(code).toBe(0);
    // The 8 KiB tensor exceeds 4 KB alone: at least two shards and an index.
    expect(text).toMatch(/3 tensors, .* → [2-9] file\(s\) in .* with model\.safetensors\.index\.json/);
    const loaded = loadShardedCheckpoint(out);
    for (const [name, t] of Object.entries(tensors)) {
      expect(Array.from(loaded.get(name)!.dataSync())).toEqual(Array.from(t.dataSync()));
    }
    tf.dispose([...Object.values(tensors), ...loaded.values()]);
    const unit = await run('shard', source, join(dir, 'unit'), '--max-shard-size', '30XB');
    expect(unit.code).toBe(2);
    expect(unit.err).toContain('Invalid --max-shard-size "30XB": "XB" is not a unit memhooks knows. Units: KB, MB, GB (powers of 10), KiB, MiB, GiB (powers of 2)');
    expect((await run('shard', source, join(dir, 'unit'), '--max-shard-size', '30')).err).toContain('"30": it has no unit');
    const same = await run('shard', source, source);
    expect(same.code).toBe(2);
    expect(same.err).toContain("is the input's folder");
  });

  it('traces one run of the zoo pipeline under a strategy into a Chrome trace file', async () => {
    const file = join(dir, 'trace.json');
    const { code, out, err } = await run('trace', 'zoo:tiny', '--strategy', 'group-leaf', '--backend', 'cpu', '--out', file);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('zoo:tiny with group-leaf on cpu');
    const doc = JSON.parse(await readFile(file, 'utf8'));
    const names = new Set(doc.traceEvents.map((e: { name: string }) => e.name));
    expect([...names].some((n) => String(n).includes('transformer_blocks.0'))).toBe(true);
    // Group offloading onloads each group: transfer slices named "onload <group>".
    expect(doc.traceEvents.some((e: { cat?: string; name: string }) => e.cat === 'transfer' && e.name.startsWith('onload '))).toBe(true);
    expect(doc.traceEvents.some((e: { ph: string; name: string }) => e.ph === 'C' && e.name === 'device bytes')).toBe(true);
    const bad = await run('trace', 'zoo:tiny', '--strategy', 'turbo');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^memhooks: Unknown strategy "turbo"\. Valid strategies: resident, sequential, /);
  });

  it('draws the tables with cli-table3 when writing to a terminal', async () => {
    let out = '';
    const tty: CliIO = { out: (t) => void (out += t), err: () => {}, isTTY: true };
    expect(await main(['bench', 'hooks', '--smoke', '--backend', 'cpu', '--out', dir], tty)).toBe(0);
    out = out.replace(/\x1b\[[0-9;]*m/g, ''); // the borders and headings are coloured
    expect(out).toMatch(/┌─+┬/);
    expect(out).toMatch(/│ hooks +│ ns per call/);
    expect(out).not.toContain('| hooks | ns per call |');
  });

  it('prints help with exit code 0', async () => {
    const { code, out } = await run('bench', '--help');
    expect(code).toBe(0);
    expect(out).toContain('Usage: memhooks bench [options] [names...]');
    expect(out).toContain('hooks');
  });
});
