import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDiffusionComponents, generateImage, type DiffusionComponents, type DiffusionSizeName } from '../../src/zoo.js';
import { memory, Pipeline } from '../../src/index.js';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { expectBitwise } from '../strategies/cpu-offload/models.js';

/** The zoo's three components as a pipeline, the way the lead's DiffusionPipeline subclasses Pipeline. */
class ZooPipeline extends Pipeline<DiffusionComponents> {
  static override modelCpuOffloadSeq = 'textEncoder->denoiser->vae';
  generate(steps: number): tf.Tensor {
    const image = generateImage(this.components, { steps, latentSize: SIZE === 'tiny' ? 8 : 16 });
    this.maybeFreeModelHooks();
    return image;
  }
}

/** MEMHOOKS_PIPELINE_SIZE=small (with MEMHOOKS_PIPELINE_RUNS) prints the table docs/pipelines.md quotes. */
const SIZE = (process.env.MEMHOOKS_PIPELINE_SIZE ?? 'tiny') as DiffusionSizeName;
const MEASURING = process.env.MEMHOOKS_PIPELINE_SIZE !== undefined;
const RUNS = Number(process.env.MEMHOOKS_PIPELINE_RUNS ?? 1);

const MODES: Array<[string, (p: ZooPipeline) => void]> = [
  ['resident', () => {}],
  ['model offload', (p) => p.enableModelCpuOffload()],
  ['group offload, block_level(1)', (p) => p.enableGroupOffload({ offloadType: 'block_level', numBlocksPerGroup: 1 })],
  ['group offload, leaf_level', (p) => p.enableGroupOffload({ offloadType: 'leaf_level' })],
  ['sequential offload', (p) => p.enableSequentialCpuOffload()],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.each(BACKENDS)('pipeline offload modes on the zoo pipeline on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('every mode is bitwise the resident image, and peak device bytes fall resident > model > sequential', () => {
    const pipe = new ZooPipeline(createDiffusionComponents(SIZE));
    const steps = 2;
    if (MEASURING) tf.dispose(pipe.generate(steps));
    const expected = pipe.generate(steps);
    // Modes take turns round by round, so that the machine's drift (it is shared) hits them all alike.
    const times = new Map<string, number[]>(MODES.map(([m]) => [m, []]));
    const peaks = new Map<string, number>();
    for (let r = 0; r < RUNS; r++) {
      for (const [mode, enable] of MODES) {
        enable(pipe);
        if (MEASURING) tf.dispose(pipe.generate(steps)); // warm-up: XNNPACK packing, recorded orders
        const start = performance.now();
        const { result, peakDeviceBytes } = memory.track(() => pipe.generate(steps));
        times.get(mode)!.push(performance.now() - start);
        peaks.set(mode, Math.max(peaks.get(mode) ?? 0, peakDeviceBytes));
        expectBitwise(result, expected);
        result.dispose();
        pipe.removeAllHooks();
      }
    }
    const rows = MODES.map(([mode]) => ({ mode, ms: median(times.get(mode)!), peak: peaks.get(mode)! }));
    const peak = Object.fromEntries(rows.map((r) => [r.mode, r.peak]));
    expect(peak['model offload']).toBeLessThan(peak['resident']!);
    expect(peak['sequential offload']).toBeLessThan(peak['model offload']!);
    expect(peak['group offload, leaf_level']).toBeLessThan(peak['model offload']!);
    if (MEASURING) {
      const base = rows[0]!;
      const lines = rows.map((r) => `| ${r.mode} | ${r.ms.toFixed(0)} | ${(r.ms / base.ms).toFixed(2)}× | ${(r.peak / 2 ** 20).toFixed(2)} | ${(r.peak / base.peak).toFixed(2)} |`);
      console.log(`\n${backend}, zoo size ${SIZE}, ${steps} steps, median of ${RUNS} rounds (modes interleaved)\n| mode | ms per image | time vs resident | peak device MiB | peak vs resident |\n| --- | --- | --- | --- | --- |\n${lines.join('\n')}`);
    }
    expected.dispose();
    for (const m of Object.values(pipe.components)) m.dispose();
  }, MEASURING ? 1_800_000 : undefined);
});
